//! The person at the license server, as the flows see them: who carries a web or
//! telephone handoff and types back the ID, confirms the reminder to remove CALs by hand,
//! and watches the automatic method's progress.

use std::future::Future;

use crate::error::Error;
use crate::methods::automatic::Progress;
use crate::methods::handoff::Handoff;
use crate::migration::Reminder;

/// The person at the license server: what the flows need from them.
///
/// The command line asks on the terminal or reads flags; a test or another tool answers
/// in code.
pub trait Operator: Send {
    /// Takes `handoff` to the web site or the representative and returns the ID typed
    /// back, `None` if the person gave up, or why the site could not be used.
    fn obtain(
        &mut self,
        handoff: &Handoff,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send;

    /// Shows `reminder` (remove the CALs from the source by hand); `true` if the person
    /// confirms they understand and wants to go on.
    fn confirm(&mut self, reminder: &Reminder) -> impl Future<Output = bool> + Send;

    /// What the automatic method is doing.
    fn progress(&mut self, progress: Progress) {
        let _ = progress;
    }
}
