//! The site's sessions and anti-forgery tokens. A browser gets a random session number in
//! a cookie; every form carries a token, an HMAC-SHA256 under a key only this clearinghouse
//! holds, of the session and of what the form is for. A page of another site (even one on
//! another port of the same host, whose cookies a browser shares) can set the cookie, but
//! cannot make the token. The instructor's sign-in, and a class seat's, are kept the same
//! way: a cookie signed for the session, so a token is typed once and never rides in an
//! address.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use actix_web::http::header::COOKIE;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::hex;

/// The cookie holding the session number.
pub const SESSION_COOKIE: &str = "clearinghouse_session";
/// The cookie that says the session signed in to the instructor page.
pub const INSTRUCTOR_COOKIE: &str = "clearinghouse_instructor";
/// How long an instructor (or a seat's student) stays signed in.
pub const INSTRUCTOR_FOR: Duration = Duration::from_secs(8 * 60 * 60);

/// The cookie that says the session signed in to class seat `tenant`.
pub fn seat_cookie(tenant: &str) -> String {
    format!("clearinghouse_seat_{tenant}")
}

/// The key forms are signed with: drawn when the clearinghouse starts, so a form shown
/// before a restart has expired after it.
pub struct SiteKey([u8; 32]);

impl SiteKey {
    /// A new random key.
    pub fn generate() -> Self {
        SiteKey(rand::random())
    }

    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        // Any key length is accepted; the key is 32 bytes.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The token of `parts` (a session and what it is for), as hex.
    pub fn sign(&self, parts: &[&str]) -> String {
        hex::encode(&self.mac(parts).finalize().into_bytes())
    }

    /// Whether `token` is the token of `parts`, compared in constant time.
    pub fn verify(&self, parts: &[&str], token: &str) -> bool {
        let Some(bytes) = hex::decode(token, 64) else {
            return false;
        };
        self.mac(parts).verify_slice(&bytes).is_ok()
    }

    /// An instructor's sign-in for `session`, good until `INSTRUCTOR_FOR` from now.
    pub fn instructor_pass(&self, session: &str) -> String {
        self.pass(&["instructor", session])
    }

    /// Whether `pass` is a sign-in for `session` that has not run out.
    pub fn instructor_signed_in(&self, session: &str, pass: &str) -> bool {
        self.holds(&["instructor", session], pass)
    }

    /// A sign-in to class seat `tenant` for `session`, good for as long.
    pub fn seat_pass(&self, session: &str, tenant: &str) -> String {
        self.pass(&["seat", session, tenant])
    }

    /// Whether `pass` is a sign-in to seat `tenant` for `session` that has not run out.
    pub fn seat_signed_in(&self, session: &str, tenant: &str, pass: &str) -> bool {
        self.holds(&["seat", session, tenant], pass)
    }

    /// A sign-in for `parts`, good until `INSTRUCTOR_FOR` from now: the time it runs out
    /// and the token of `parts` with that time.
    fn pass(&self, parts: &[&str]) -> String {
        let until = now_secs()
            .saturating_add(INSTRUCTOR_FOR.as_secs())
            .to_string();
        let mut signed = parts.to_vec();
        signed.push(&until);
        format!("{until}.{}", self.sign(&signed))
    }

    /// Whether `pass` is a sign-in for `parts` that has not run out.
    fn holds(&self, parts: &[&str], pass: &str) -> bool {
        let Some((until, tag)) = pass.split_once('.') else {
            return false;
        };
        let current = until.parse::<u64>().is_ok_and(|u| u > now_secs());
        let mut signed = parts.to_vec();
        signed.push(until);
        current && self.verify(&signed, tag)
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The value of cookie `name` in `request`, if it has one.
pub fn cookie(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// The request's session number, or a new one (`true`: the cookie is to be set).
pub fn session(request: &HttpRequest) -> (String, bool) {
    match cookie(request, SESSION_COOKIE).filter(|v| is_number(v)) {
        Some(session) => (session, false),
        None => (hex::random_128(), true),
    }
}

/// Whether `text` is a session number or form nonce: 32 hex digits.
pub fn is_number(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_only_for_its_session_and_purpose_under_its_key() {
        let key = SiteKey::generate();
        let token = key.sign(&["session-1", "install-cals"]);
        assert!(key.verify(&["session-1", "install-cals"], &token));
        assert!(!key.verify(&["session-2", "install-cals"], &token));
        assert!(!key.verify(&["session-1", "activate"], &token));
        assert!(!SiteKey::generate().verify(&["session-1", "install-cals"], &token));
        assert!(!key.verify(&["session-1", "install-cals"], &"f".repeat(64)));
        assert!(!key.verify(&["session-1", "install-cals"], "not hex"));
    }

    #[test]
    fn a_seat_pass_holds_for_its_session_and_seat_only() {
        let key = SiteKey::generate();
        let pass = key.seat_pass("s1", "class-01");
        assert!(key.seat_signed_in("s1", "class-01", &pass));
        assert!(!key.seat_signed_in("s1", "class-02", &pass));
        assert!(!key.seat_signed_in("s2", "class-01", &pass));
        assert!(!key.instructor_signed_in("s1", &pass));
    }

    #[test]
    fn an_instructor_pass_holds_for_its_session_only() {
        let key = SiteKey::generate();
        let pass = key.instructor_pass("s1");
        assert!(key.instructor_signed_in("s1", &pass));
        assert!(!key.instructor_signed_in("s2", &pass));
        assert!(!key.instructor_signed_in("s1", "1.abc"));
    }
}
