//! Which of a clearinghouse's lines are still answering. Each line runs on a thread of its
//! own; if that thread ends while the server runs (a bug that panics it, say), the line
//! no longer answers while HTTP still does. `/health` and `/ready` read this, so the
//! clearinghouse says it is half-dead instead of living on that way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A line's name, and whether it still answers.
type Watched = (&'static str, Arc<AtomicBool>);

/// The lines watched.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<Watched>>>);

/// Held by a line's thread for as long as it answers: dropped when the thread ends, by
/// returning or by unwinding from a panic.
pub struct Answering {
    alive: Arc<AtomicBool>,
    /// Set when the line is being stopped on purpose: it ends, but it did not die.
    stopping: Arc<AtomicBool>,
}

impl Drop for Answering {
    fn drop(&mut self) {
        if !self.stopping.load(Ordering::Relaxed) {
            self.alive.store(false, Ordering::Relaxed);
        }
    }
}

/// Stops a line's watch before the line is stopped on purpose.
pub struct Stopping(Arc<AtomicBool>);

impl Stopping {
    /// The line is being stopped: its end is not a death.
    pub fn now(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Lines {
    /// Watches line `name`: the guard for its thread, and the switch that says it is
    /// being stopped on purpose.
    pub fn watch(&self, name: &'static str) -> (Answering, Stopping) {
        let alive = Arc::new(AtomicBool::new(true));
        let stopping = Arc::new(AtomicBool::new(false));
        if let Ok(mut lines) = self.0.lock() {
            lines.push((name, alive.clone()));
        }
        (
            Answering {
                alive,
                stopping: stopping.clone(),
            },
            Stopping(stopping),
        )
    }

    /// The lines that stopped answering.
    pub fn dead(&self) -> Vec<&'static str> {
        self.0
            .lock()
            .map(|lines| {
                lines
                    .iter()
                    .filter(|(_, alive)| !alive.load(Ordering::Relaxed))
                    .map(|(name, _)| *name)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_whose_thread_panics_is_dead() {
        let lines = Lines::default();
        let (answering, _stopping) = lines.watch("voice line");
        let (_phone, _) = lines.watch("phone line");
        let thread = std::thread::spawn(move || {
            let _answering = answering;
            panic!("a bug");
        });
        assert!(thread.join().is_err());
        assert_eq!(lines.dead(), vec!["voice line"]);
    }

    #[test]
    fn a_line_stopped_on_purpose_is_not_dead() {
        let lines = Lines::default();
        let (answering, stopping) = lines.watch("voice line");
        stopping.now();
        drop(answering);
        assert!(lines.dead().is_empty());
    }
}
