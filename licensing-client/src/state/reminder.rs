//! The reminder to remove the CALs from a migration's source by hand, as the state keeps it
//! with a request carried to the web site or a representative; `crate::migration` holds the
//! wizard's rule for when it is shown.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared::vocab::WindowsServer;

/// Why the CALs must be removed from the source by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "cause")]
pub enum ReminderCause {
    /// The source no longer functions.
    NotFunctioning,
    /// The source is not available on the network.
    Unreachable,
    /// The source runs an operating system older than Windows Server 2008 R2, which cannot
    /// remove CALs for another server.
    OlderThan2008R2 {
        /// Its operating system.
        os: WindowsServer,
    },
    /// The source is deactivated.
    Deactivated,
}

/// The reminder to remove the migrated CALs from the source license server by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// The source, by its name (and license server ID), when it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why.
    #[serde(flatten)]
    pub cause: ReminderCause,
}

impl fmt::Display for Reminder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.cause {
            ReminderCause::NotFunctioning => "it no longer functions".to_owned(),
            ReminderCause::Unreachable => "it is not available on the network".to_owned(),
            ReminderCause::OlderThan2008R2 { os } => {
                format!("it runs {os}, older than Windows Server 2008 R2")
            }
            ReminderCause::Deactivated => "it is deactivated".to_owned(),
        };
        let source = self
            .source
            .as_ref()
            .map_or(String::new(), |s| format!(" {s}"));
        write!(
            f,
            "You must remove the RDS CALs from the source license server{source} manually after this wizard completes: {why}."
        )
    }
}
