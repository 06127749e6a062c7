//! The test controls that shape how a tenant answers and record what it answered: injected
//! faults and the journal. They sit in front of the ledger, in the doors; none of them
//! touches a licensing rule. (A tenant's seed, clock and snapshots are part of its ledger
//! state, so they live in [`crate::ledger`].)

pub mod faults;
pub mod journal;

pub use faults::{FaultPlan, Faults};
pub use journal::{Journal, Recorded};

use crate::ledger::TenantName;

/// The controls of every tenant, shared by the doors.
pub struct Controls {
    /// Injected faults.
    pub faults: Faults,
    /// What each tenant received and answered.
    pub journal: Journal,
}

impl Controls {
    /// Controls with no faults and journals of at most `journal_capacity` entries.
    pub fn new(journal_capacity: usize) -> Self {
        Controls {
            faults: Faults::default(),
            journal: Journal::new(journal_capacity),
        }
    }

    /// Forgets `tenant`'s faults and journal (it was reset or deleted).
    pub fn forget(&self, tenant: &TenantName) {
        self.faults.clear(tenant, None);
        self.journal.clear(tenant);
    }
}
