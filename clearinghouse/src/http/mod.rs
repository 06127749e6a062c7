//! The HTTP doors of the clearinghouse. Each door only translates between HTTP and the
//! core; none holds a licensing rule.

mod health;

use actix_web::web;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
}
