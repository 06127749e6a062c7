//! Why a lab command stopped, in words a trainer can act on.

use std::path::PathBuf;

use thiserror::Error;

use crate::scenario::ScenarioError;

/// Why a lab command stopped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LabError {
    /// The scenario file is wrong.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The clearinghouse could not be reached or answered nonsense.
    #[error(
        "the clearinghouse at {url} could not be used: {reason}; is it running, and is that its address (--clearinghouse)?"
    )]
    Clearinghouse {
        /// Its URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The clearinghouse refused a request.
    #[error("the clearinghouse at {url} refused ({status}): {detail}")]
    Refused {
        /// Its URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Its problem's detail.
        detail: String,
    },
    /// The clearinghouse the lab starts itself did not start.
    #[error(
        "the clearinghouse could not start: {0}; if its address is taken, give another with --addr or --phone-addr"
    )]
    Start(String),
    /// A file of the class could not be used.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No class is in the directory.
    #[error(
        "no class is in {0}: stand one up with `lab up SCENARIO --seats N` (or name its directory with --dir)"
    )]
    NoClass(PathBuf),
    /// A class is up in the directory already.
    #[error(
        "a class is up in {0} already: take it down with `lab down` first, or use another --dir"
    )]
    ClassUp(PathBuf),
    /// No such seat.
    #[error("the class has seats 1 to {seats}; there is no seat {seat}")]
    NoSeat {
        /// The seat asked for.
        seat: u32,
        /// How many seats there are.
        seats: u32,
    },
    /// A bad option.
    #[error("{0}")]
    Usage(String),
    /// A license server or session host of a seat could not be set up or read.
    #[error("seat {seat}, {computer}: {reason}")]
    Seat {
        /// The seat.
        seat: u32,
        /// The license server or session host.
        computer: String,
        /// Why.
        reason: String,
    },
    /// A step of a solution failed.
    #[error("seat {seat}, step {step} ({what}): {reason}")]
    Step {
        /// The seat.
        seat: u32,
        /// The step's number, from 1.
        step: usize,
        /// The step in words.
        what: String,
        /// Why.
        reason: String,
    },
}

impl LabError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> LabError {
        LabError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        }
    }
}
