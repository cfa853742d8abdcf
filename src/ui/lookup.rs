//! Work the browser does beside its keyboard: a `:` lookup runs on a thread of its own
//! while keys are read, so Esc stops it and q still quits, however long it takes.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};
use ratatui::crossterm::event::Event;

use crate::ui::app::Action;
use crate::ui::keymap::{InputMode, action_for_event};

/// Runs `work` on a thread of its own, reading events with `next_event` (which waits a
/// little for one) until it ends. Esc asks `work` to stop through the flag it is given;
/// q and Ctrl-C ask it too, and are kept to be applied after (so unsaved edits still
/// stop a quit); any other key is kept, in order, for after. The keys are read as the
/// tree reads them: no prompt is open while a lookup runs.
pub fn beside_keys<T: Send>(
    work: impl FnOnce(&AtomicBool) -> T + Send,
    mut next_event: impl FnMut() -> Result<Option<Event>>,
    typed_ahead: &mut VecDeque<Action>,
) -> Result<T> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| work(&stop));
        while !worker.is_finished() {
            let event = match next_event() {
                Ok(event) => event,
                Err(e) => {
                    // The scope waits for the worker: let it end soon.
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            };
            match event.and_then(|e| action_for_event(&e, InputMode::Tree)) {
                Some(Action::Cancel) => stop.store(true, Ordering::Relaxed),
                Some(Action::Quit) => {
                    stop.store(true, Ordering::Relaxed);
                    typed_ahead.push_back(Action::Quit);
                }
                Some(action) => typed_ahead.push_back(action),
                None => {}
            }
        }
        worker.join().map_err(|_| anyhow!("the lookup failed unexpectedly"))
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;

    fn key(c: KeyCode) -> Event {
        Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    /// Work that ends only when asked to stop, and says whether it was.
    fn until_stopped(stop: &AtomicBool) -> bool {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Events as a terminal gives them: now and then a key, mostly nothing.
    fn script(keys: Vec<Event>) -> impl FnMut() -> Result<Option<Event>> {
        let mut keys = VecDeque::from(keys);
        move || {
            std::thread::sleep(Duration::from_millis(2));
            Ok(keys.pop_front())
        }
    }

    #[test]
    fn esc_stops_work_that_would_never_end_and_keeps_the_keys_before_it() {
        let mut typed_ahead = VecDeque::new();
        let keys = vec![key(KeyCode::Char('j')), key(KeyCode::Char('k')), key(KeyCode::Esc)];
        let stopped = beside_keys(until_stopped, script(keys), &mut typed_ahead).unwrap();
        assert!(stopped);
        assert_eq!(Vec::from(typed_ahead), [Action::Down, Action::Up]);
    }

    #[test]
    fn q_stops_the_work_and_is_kept_to_quit_after_it() {
        let mut typed_ahead = VecDeque::new();
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        for quit in [key(KeyCode::Char('q')), ctrl_c] {
            typed_ahead.clear();
            assert!(beside_keys(until_stopped, script(vec![quit]), &mut typed_ahead).unwrap());
            assert_eq!(Vec::from(typed_ahead.clone()), [Action::Quit]);
        }
    }

    #[test]
    fn work_that_ends_by_itself_gives_its_answer_with_no_stop() {
        let mut typed_ahead = VecDeque::new();
        let answer = beside_keys(|stop| stop.load(Ordering::Relaxed), script(vec![]), &mut typed_ahead).unwrap();
        assert!(!answer, "no key asked it to stop");
        assert!(typed_ahead.is_empty());
    }

    #[test]
    fn a_failing_terminal_stops_the_work_and_is_reported() {
        let mut typed_ahead = VecDeque::new();
        let error = beside_keys(until_stopped, || Err(anyhow!("terminal gone")), &mut typed_ahead).unwrap_err();
        assert_eq!(error.to_string(), "terminal gone");
    }
}
