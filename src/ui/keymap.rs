//! The key map: one table that both handles keys and generates the help screen, so the
//! help can never disagree with what the keys do.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};

use crate::ui::app::Action;

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character (shifted letters are upper case).
    Char(char),
    /// Control plus a letter.
    Ctrl(char),
    /// A named key.
    Code(KeyCode),
}

/// One line of the key map.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys that do it.
    pub keys: &'static [Key],
    /// What they do.
    pub action: Action,
    /// What the help screen says.
    pub help: &'static str,
}

use Key::{Char, Code, Ctrl};

/// Every binding of the browser, in the order the help screen lists them.
pub const BINDINGS: &[Binding] = &[
    Binding { keys: &[Char('j'), Code(KeyCode::Down)], action: Action::Down, help: "next / prev. row (↓ ↑)" },
    Binding { keys: &[Char('k'), Code(KeyCode::Up)], action: Action::Up, help: "next / prev. row (↓ ↑)" },
    Binding { keys: &[Char('l'), Code(KeyCode::Right)], action: Action::ExpandOrEnter, help: "open, or first child" },
    Binding {
        keys: &[Char('h'), Code(KeyCode::Left)],
        action: Action::CollapseOrLeave,
        help: "close, or go to parent",
    },
    Binding { keys: &[Char(' ')], action: Action::Toggle, help: "expand or collapse" },
    Binding { keys: &[Char('e'), Code(KeyCode::Enter)], action: Action::EditValue, help: "edit value, or fold" },
    Binding { keys: &[Char('d')], action: Action::Delete, help: "delete field or element" },
    Binding { keys: &[Char('a')], action: Action::Append, help: "append copy / add field" },
    Binding { keys: &[Char('u')], action: Action::Undo, help: "undo" },
    Binding { keys: &[Ctrl('r')], action: Action::Redo, help: "redo" },
    Binding { keys: &[Char('w')], action: Action::Save, help: "save as (+ edit script)" },
    Binding { keys: &[Code(KeyCode::PageDown), Ctrl('f')], action: Action::PageDown, help: "page down/up (Ctrl-f/b)" },
    Binding { keys: &[Code(KeyCode::PageUp), Ctrl('b')], action: Action::PageUp, help: "page down/up (Ctrl-f/b)" },
    Binding { keys: &[Ctrl('d')], action: Action::HalfPageDown, help: "half a page down / up" },
    Binding { keys: &[Ctrl('u')], action: Action::HalfPageUp, help: "half a page down / up" },
    Binding { keys: &[Char('g'), Code(KeyCode::Home)], action: Action::First, help: "first / last (Home/End)" },
    Binding { keys: &[Char('G'), Code(KeyCode::End)], action: Action::Last, help: "first / last (Home/End)" },
    Binding { keys: &[Char('p')], action: Action::Parent, help: "go to parent" },
    Binding { keys: &[Char('J')], action: Action::NextSibling, help: "next / previous sibling" },
    Binding { keys: &[Char('K')], action: Action::PrevSibling, help: "next / previous sibling" },
    Binding { keys: &[Char('O')], action: Action::ExpandSubtree, help: "open / close all below" },
    Binding { keys: &[Char('C')], action: Action::CollapseSubtree, help: "open / close all below" },
    Binding { keys: &[Char('*')], action: Action::ExpandAll, help: "open / close everything" },
    Binding { keys: &[Char('0')], action: Action::CollapseAll, help: "open / close everything" },
    Binding { keys: &[Char('1')], action: Action::CollapseToDepth(1), help: "show N levels (1-9)" },
    Binding { keys: &[Char('2')], action: Action::CollapseToDepth(2), help: "show N levels (1-9)" },
    Binding { keys: &[Char('3')], action: Action::CollapseToDepth(3), help: "show N levels (1-9)" },
    Binding { keys: &[Char('4')], action: Action::CollapseToDepth(4), help: "show N levels (1-9)" },
    Binding { keys: &[Char('5')], action: Action::CollapseToDepth(5), help: "show N levels (1-9)" },
    Binding { keys: &[Char('6')], action: Action::CollapseToDepth(6), help: "show N levels (1-9)" },
    Binding { keys: &[Char('7')], action: Action::CollapseToDepth(7), help: "show N levels (1-9)" },
    Binding { keys: &[Char('8')], action: Action::CollapseToDepth(8), help: "show N levels (1-9)" },
    Binding { keys: &[Char('9')], action: Action::CollapseToDepth(9), help: "show N levels (1-9)" },
    Binding { keys: &[Char(']')], action: Action::NextProblem, help: "next / previous problem" },
    Binding { keys: &[Char('[')], action: Action::PrevProblem, help: "next / previous problem" },
    Binding { keys: &[Char('!')], action: Action::ProblemList, help: "list of every problem" },
    Binding { keys: &[Char('}')], action: Action::NextDifference, help: "next / prev. difference" },
    Binding { keys: &[Char('{')], action: Action::PrevDifference, help: "next / prev. difference" },
    Binding { keys: &[Char('/')], action: Action::StartSearch, help: "search names and values" },
    Binding { keys: &[Char('n')], action: Action::SearchNext, help: "next / previous match" },
    Binding { keys: &[Char('N')], action: Action::SearchPrev, help: "next / previous match" },
    Binding { keys: &[Code(KeyCode::Esc)], action: Action::Cancel, help: "stop a search or lookup" },
    Binding { keys: &[Char(':')], action: Action::StartGoto, help: "go to a path or @byte" },
    Binding { keys: &[Char('y')], action: Action::CopyPath, help: "copy the path / value" },
    Binding { keys: &[Char('Y')], action: Action::CopyValue, help: "copy the path / value" },
    Binding { keys: &[Char('t')], action: Action::ToggleDetail, help: "detail / hex pane on/off" },
    Binding { keys: &[Char('x')], action: Action::ToggleHex, help: "detail / hex pane on/off" },
    Binding { keys: &[Code(KeyCode::Tab)], action: Action::ToggleHexFocus, help: "hex pane: byte cursor" },
    Binding { keys: &[Char('?')], action: Action::ToggleHelp, help: "this help" },
    Binding { keys: &[Char('q'), Ctrl('c')], action: Action::Quit, help: "quit" },
];

/// Keys inside a prompt (search, go to path), listed on the help screen.
pub const PROMPT_HELP: &[(&str, &str)] = &[
    ("Enter Esc", "prompt: run / cancel"),
    ("← → Home End", "prompt: move (Ctrl-a/e)"),
    ("Ctrl-w Ctrl-u", "prompt: cut word / start"),
    ("Ctrl-k", "prompt: cut to the end"),
    ("↑ ↓", "prompt: history"),
    ("@N=HEX", "e on bytes: change at N"),
];

/// Keys in the hex pane (after Tab), listed on the help screen.
pub const HEX_HELP: &[(&str, &str)] = &[
    ("hjkl ←↓↑→", "hex: move byte cursor"),
    ("0-9 a-f", "hex: 2 digits set a byte"),
    ("Tab Esc", "hex: back to the tree"),
];

/// Where keys go: the tree's bindings, an open prompt, or the hex pane's byte cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputMode {
    /// The bindings of [`BINDINGS`].
    Tree,
    /// Readline keys for the open prompt.
    Prompt,
    /// The hex pane: cursor keys and hex digits, the rest as in the tree.
    Hex,
}

/// What the mouse does, listed on the help screen.
pub const MOUSE_HELP: (&str, &str) = ("mouse", "click, wheel; --no-mouse");

/// The action a terminal event asks for: the one pure mapping from input to actions,
/// used by the event loop and by the tests alike. With a prompt open, keys edit the
/// prompt rather than run bindings; in the hex pane, they move its cursor and type bytes.
pub fn action_for_event(event: &Event, mode: InputMode) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind == KeyEventKind::Release => None,
        Event::Key(key) if mode == InputMode::Prompt => prompt_action(*key),
        Event::Key(key) if mode == InputMode::Hex => hex_action(*key).or_else(|| action_for(*key)),
        Event::Key(key) => action_for(*key),
        Event::Mouse(mouse) => match mouse.kind {
            MouseEventKind::ScrollDown => Some(Action::Scroll(3)),
            MouseEventKind::ScrollUp => Some(Action::Scroll(-3)),
            MouseEventKind::Down(_) => Some(Action::Click(mouse.column, mouse.row)),
            _ => None,
        },
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}

/// The action a key asks for inside a prompt: readline's keys.
fn prompt_action(key: KeyEvent) -> Option<Action> {
    use crate::ui::prompt::PromptKey as P;
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    let edit = |k| Some(Action::PromptKey(k));
    match key.code {
        KeyCode::Enter => Some(Action::PromptSubmit),
        KeyCode::Esc => Some(Action::PromptCancel),
        KeyCode::Char('c' | 'g') if ctrl => Some(Action::PromptCancel),
        KeyCode::Up => Some(Action::PromptHistoryPrev),
        KeyCode::Down => Some(Action::PromptHistoryNext),
        KeyCode::Char('p') if ctrl => Some(Action::PromptHistoryPrev),
        KeyCode::Char('n') if ctrl => Some(Action::PromptHistoryNext),
        KeyCode::Backspace | KeyCode::Char('h') if key.code == KeyCode::Backspace || ctrl => edit(P::Backspace),
        KeyCode::Delete => edit(P::Delete),
        KeyCode::Char('d') if ctrl => edit(P::Delete),
        KeyCode::Left if ctrl || alt => edit(P::WordLeft),
        KeyCode::Right if ctrl || alt => edit(P::WordRight),
        KeyCode::Left => edit(P::Left),
        KeyCode::Right => edit(P::Right),
        KeyCode::Home => edit(P::Home),
        KeyCode::End => edit(P::End),
        KeyCode::Char('a') if ctrl => edit(P::Home),
        KeyCode::Char('e') if ctrl => edit(P::End),
        KeyCode::Char('b') if ctrl => edit(P::Left),
        KeyCode::Char('f') if ctrl => edit(P::Right),
        KeyCode::Char('b') if alt => edit(P::WordLeft),
        KeyCode::Char('f') if alt => edit(P::WordRight),
        KeyCode::Char('w') if ctrl => edit(P::DeleteWord),
        KeyCode::Char('u') if ctrl => edit(P::DeleteToStart),
        KeyCode::Char('k') if ctrl => edit(P::DeleteToEnd),
        KeyCode::Char(_) if ctrl || alt => None,
        KeyCode::Char(c) => edit(P::Char(c)),
        _ => None,
    }
}

/// The action a key asks for in the hex pane, where it differs from the tree's.
fn hex_action(key: KeyEvent) -> Option<Action> {
    use crate::ui::app::HexStep::{Bytes, Lines, Pages};
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let step = |s| Some(Action::HexMove(s));
    match key.code {
        KeyCode::Char('f') if ctrl => step(Pages(1)),
        KeyCode::Char('b') if ctrl => step(Pages(-1)),
        _ if ctrl => None,
        KeyCode::Left | KeyCode::Char('h') => step(Bytes(-1)),
        KeyCode::Right | KeyCode::Char('l') => step(Bytes(1)),
        KeyCode::Up | KeyCode::Char('k') => step(Lines(-1)),
        KeyCode::Down | KeyCode::Char('j') => step(Lines(1)),
        KeyCode::PageUp => step(Pages(-1)),
        KeyCode::PageDown => step(Pages(1)),
        KeyCode::Esc => Some(Action::HexEscape),
        KeyCode::Char(c) => c.to_digit(16).map(|d| Action::HexDigit(d as u8)),
        _ => None,
    }
}

/// The action a key press asks for, outside prompts.
pub fn action_for(event: KeyEvent) -> Option<Action> {
    let key = match event.code {
        KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => Ctrl(c.to_ascii_lowercase()),
        KeyCode::Char(c) => Char(c),
        code => Code(code),
    };
    BINDINGS.iter().find(|b| b.keys.contains(&key)).map(|b| b.action)
}

/// How a key is written on the help screen.
pub fn key_name(key: Key) -> String {
    match key {
        Char(' ') => "Space".to_owned(),
        Char(c) => c.to_string(),
        Ctrl(c) => format!("Ctrl-{c}"),
        Code(KeyCode::Down) => "↓".to_owned(),
        Code(KeyCode::Up) => "↑".to_owned(),
        Code(KeyCode::Left) => "←".to_owned(),
        Code(KeyCode::Right) => "→".to_owned(),
        Code(KeyCode::PageDown) => "PgDn".to_owned(),
        Code(KeyCode::PageUp) => "PgUp".to_owned(),
        Code(code) => code.to_string(),
    }
}

/// The help screen's lines: keys and what they do, bindings with the same text merged.
pub fn help_lines() -> Vec<(String, &'static str)> {
    // Bindings with one text share a line; such a line names each one's first key (the
    // others are in the text), so the key column stays narrow enough for 80 columns.
    let mut lines: Vec<(Vec<&Binding>, &'static str)> = Vec::new();
    for binding in BINDINGS {
        match lines.last_mut() {
            Some((shared, help)) if *help == binding.help => shared.push(binding),
            _ => lines.push((vec![binding], binding.help)),
        }
    }
    let mut out: Vec<(String, &'static str)> = lines
        .into_iter()
        .map(|(bindings, help)| {
            let keys: Vec<String> = match bindings.as_slice() {
                [one] => one.keys.iter().map(|&k| key_name(k)).collect(),
                [first, .., last] if bindings.len() > 3 => {
                    vec![format!("{}…{}", key_name(first.keys[0]), key_name(last.keys[0]))]
                }
                many => many.iter().map(|b| key_name(b.keys[0])).collect(),
            };
            (keys.join(" "), help)
        })
        .collect();
    out.extend(PROMPT_HELP.iter().chain(HEX_HELP).map(|(k, h)| (k.to_string(), *h)));
    out.push((MOUSE_HELP.0.to_owned(), MOUSE_HELP.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }

    #[test]
    fn help_covers_every_binding() {
        let help = help_lines();
        for b in BINDINGS {
            // A run of keys with one text is written as a range (`1…9`).
            let named = |keys: &String| keys.contains(&key_name(b.keys[0])) || keys.contains('…');
            assert!(help.iter().any(|(keys, text)| *text == b.help && named(keys)), "{:?}", b.keys);
        }
    }

    #[test]
    fn the_readme_lists_every_key_as_the_help_screen_does() {
        let readme = include_str!("../../README.md");
        let section = readme.split("### The browser").nth(1).expect("a browser section");
        for (keys, help) in help_lines() {
            let row = format!("| {keys} | {help} |");
            assert!(section.contains(&row), "README's browser section lacks `{row}`");
        }
    }
}
