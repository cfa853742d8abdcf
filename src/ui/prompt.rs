//! An open prompt: what it is for, its text with a cursor edited like readline (the
//! `tui-input` crate does the editing), and whether the text is still the offered default,
//! so that typing replaces it rather than adding to it.

use tui_input::{Input, InputRequest};

use crate::ui::app::PromptKind;

/// A key inside a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKey {
    /// Type a character (over the offered text, if it is still the default).
    Char(char),
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Cursor one character left (←, Ctrl-B).
    Left,
    /// Cursor one character right (→, Ctrl-F).
    Right,
    /// Cursor to the start (Home, Ctrl-A).
    Home,
    /// Cursor to the end (End, Ctrl-E).
    End,
    /// Cursor one word left (Alt-B).
    WordLeft,
    /// Cursor one word right (Alt-F).
    WordRight,
    /// Delete the word before the cursor (Ctrl-W).
    DeleteWord,
    /// Delete from the start to the cursor (Ctrl-U).
    DeleteToStart,
    /// Delete from the cursor to the end (Ctrl-K).
    DeleteToEnd,
}

/// An open prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// What it is for.
    pub kind: PromptKind,
    input: Input,
    /// Whether the text is the default it opened with, untouched: typing replaces it.
    fresh: bool,
}

impl Prompt {
    /// A prompt for `kind` offering `text` (selected: typing replaces it).
    pub fn new(kind: PromptKind, text: String) -> Self {
        let fresh = !text.is_empty();
        Prompt { kind, input: Input::new(text), fresh }
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        self.input.value()
    }

    /// Where the cursor is, in characters.
    pub fn cursor(&self) -> usize {
        self.input.cursor()
    }

    /// Whether the text is still the offered default (shown selected).
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// Replaces the text (from history), the cursor at its end.
    pub fn set_text(&mut self, text: String) {
        self.input = Input::new(text);
        self.fresh = false;
    }

    /// Applies one key.
    pub fn edit(&mut self, key: PromptKey) {
        if self.fresh && matches!(key, PromptKey::Char(_)) {
            self.input = Input::default();
        }
        self.fresh = false;
        let request = match key {
            PromptKey::Char(c) => InputRequest::InsertChar(c),
            PromptKey::Backspace => InputRequest::DeletePrevChar,
            PromptKey::Delete => InputRequest::DeleteNextChar,
            PromptKey::Left => InputRequest::GoToPrevChar,
            PromptKey::Right => InputRequest::GoToNextChar,
            PromptKey::Home => InputRequest::GoToStart,
            PromptKey::End => InputRequest::GoToEnd,
            PromptKey::WordLeft => InputRequest::GoToPrevWord,
            PromptKey::WordRight => InputRequest::GoToNextWord,
            PromptKey::DeleteWord => InputRequest::DeletePrevWord,
            PromptKey::DeleteToStart => InputRequest::DeleteFromStart,
            PromptKey::DeleteToEnd => InputRequest::DeleteTillEnd,
        };
        self.input.handle(request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(prompt: &mut Prompt, keys: &[PromptKey]) -> String {
        keys.iter().for_each(|&k| prompt.edit(k));
        prompt.text().to_owned()
    }

    #[test]
    fn typing_replaces_the_offered_text_and_moving_keeps_it() {
        use PromptKey::*;
        assert_eq!(typed(&mut Prompt::new(PromptKind::Edit, "11932".into()), &[Char('7'), Char('0')]), "70");
        assert_eq!(typed(&mut Prompt::new(PromptKind::Edit, "11932".into()), &[End, Char('0')]), "119320");
        assert_eq!(typed(&mut Prompt::new(PromptKind::Goto, "units[1].state".into()), &[DeleteWord]), "units[1].");
        assert_eq!(
            typed(&mut Prompt::new(PromptKind::Goto, "units[1].state".into()), &[Left, Left, DeleteToStart]),
            "te"
        );
        assert_eq!(typed(&mut Prompt::new(PromptKind::Goto, "abc".into()), &[Home, DeleteToEnd, Char('x')]), "x");
        assert_eq!(typed(&mut Prompt::new(PromptKind::Goto, "abc".into()), &[Home, Right, Delete]), "ac");
    }
}
