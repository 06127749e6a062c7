//! CAL usage reports, as RD Licensing Manager makes them: when the report was created,
//! its scope (a domain, an organizational unit, or all trusted domains), the Per User CALs
//! installed on the license server and the Per User CALs issued within the scope, by
//! product version. Reports are kept with the license server until deleted, and saved as
//! CSV.

use shared::vocab::{LicenseType, ProductVersion, Term};
use thiserror::Error;

use crate::state::{EventLevel, Line, Report, Scope, ServerState};
use crate::work::issuance;

/// A report that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("there is no report {0} on this license server: `license-server report list` lists them")]
pub struct NoSuchReport(pub u32);

/// A user's domain, from `DOMAIN\user` or `user@domain`.
pub fn domain_of(user: &str) -> Option<&str> {
    user.split_once('\\')
        .map(|(domain, _)| domain)
        .or_else(|| user.split_once('@').map(|(_, domain)| domain))
        .filter(|d| !d.is_empty())
}

fn within(scope: &Scope, user: &str, ou: Option<&str>) -> bool {
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match scope {
        Scope::AllTrustedDomains => true,
        Scope::Domain { domain } => domain_of(user).is_some_and(|d| same(d, domain)),
        Scope::Ou { domain, ou: wanted } => {
            domain_of(user).is_some_and(|d| same(d, domain)) && ou.is_some_and(|o| same(o, wanted))
        }
    }
}

/// Creates a report of `scope` at the license server's time, and keeps it.
pub fn create(state: &mut ServerState, scope: Scope) -> Report {
    let lines = <ProductVersion as Term>::ALL
        .iter()
        .map(|&version| Line {
            product_version: version,
            installed: issuance::installed_count(state, LicenseType::PerUser, Some(version)),
            issued: u32::try_from(
                issuance::per_user_issued(state, version)
                    .filter(|c| within(&scope, &c.client, c.ou.as_deref()))
                    .count(),
            )
            .unwrap_or(u32::MAX),
        })
        .filter(|l| l.installed > 0 || l.issued > 0)
        .collect();
    // Numbers are never reused, even after the newest report is deleted.
    state.reports_made += 1;
    let report = Report {
        id: state.reports_made,
        created_at: state.now(),
        scope,
        lines,
    };
    let message = format!("CAL usage report {} created ({})", report.id, report.scope);
    state.log(EventLevel::Information, message);
    state.reports.push(report.clone());
    report
}

/// Deletes report `id`.
pub fn delete(state: &mut ServerState, id: u32) -> Result<Report, NoSuchReport> {
    let index = state
        .reports
        .iter()
        .position(|r| r.id == id)
        .ok_or(NoSuchReport(id))?;
    let report = state.reports.remove(index);
    state.log(
        EventLevel::Information,
        format!("CAL usage report {id} deleted"),
    );
    Ok(report)
}

/// The report as CSV: a header, then one row per product version.
pub fn to_csv(report: &Report) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "Report created",
        "Scope",
        "Product version",
        "Per User CALs installed",
        "Per User CALs issued",
    ])?;
    for line in &report.lines {
        writer.write_record([
            report.created_at.as_str(),
            &report.scope.to_string(),
            line.product_version.name(),
            &line.installed.to_string(),
            &line.issued.to_string(),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_domain_is_read_from_either_spelling() {
        assert_eq!(domain_of(r"CONTOSO\alice"), Some("CONTOSO"));
        assert_eq!(domain_of("bob@fabrikam.example"), Some("fabrikam.example"));
        assert_eq!(domain_of("carol"), None);
    }

    #[test]
    fn a_scope_counts_only_its_users() {
        let sales = Scope::Ou {
            domain: "contoso".into(),
            ou: "Sales".into(),
        };
        assert!(within(&sales, r"CONTOSO\alice", Some("sales")));
        assert!(!within(&sales, r"CONTOSO\alice", Some("Finance")));
        assert!(!within(&sales, r"FABRIKAM\alice", Some("Sales")));
        let domain = Scope::Domain {
            domain: "CONTOSO".into(),
        };
        assert!(within(&domain, "alice@contoso", None));
        assert!(!within(&domain, "carol", None));
        assert!(within(&Scope::AllTrustedDomains, "carol", None));
    }
}
