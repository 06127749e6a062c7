//! CAL usage reports as the state keeps them; `crate::work::reports` makes them.

use serde::{Deserialize, Serialize};
use shared::vocab::ProductVersion;

/// Which users a report counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Scope {
    /// The users of one domain.
    Domain {
        /// The domain, e.g. CONTOSO.
        domain: String,
    },
    /// The users of one organizational unit of a domain.
    Ou {
        /// The domain.
        domain: String,
        /// The organizational unit, e.g. Sales.
        ou: String,
    },
    /// Every user of every trusted domain.
    AllTrustedDomains,
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Domain { domain } => write!(f, "Domain {domain}"),
            Scope::Ou { domain, ou } => write!(f, "OU={ou}, {domain}"),
            Scope::AllTrustedDomains => write!(f, "All trusted domains"),
        }
    }
}

/// One product version's line of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The CALs' version.
    pub product_version: ProductVersion,
    /// Per User CALs of that version installed on the license server.
    pub installed: u32,
    /// Per User CALs of that version issued to users within the scope.
    pub issued: u32,
}

/// A CAL usage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Its number on this license server.
    pub id: u32,
    /// When it was created, on the license server's clock.
    pub created_at: String,
    /// Which users it counts.
    pub scope: Scope,
    /// One line per product version with Per User CALs installed or issued.
    pub lines: Vec<Line>,
}
