//! The web browser method without a person: the library fills in the licensing web site's
//! forms itself over HTTP, as a browser would (anti-forgery cookie and token included),
//! page after page, and reads the ID off the result page. Scripts and tests run the web
//! method end to end this way.

use std::time::Duration;

use crate::error::Error;
use crate::methods::handoff::{Desk, Handoff};
use crate::migration::Reminder;
use crate::operator::Operator;

/// The most pages a task has, verification page included; a site that asks for more is
/// not the licensing site.
const MAX_PAGES: usize = 8;
/// How many times a filled-in form is sent when no answer comes back.
const SUBMIT_ATTEMPTS: u32 = 3;

/// A client of the licensing web site.
#[derive(Debug, Clone)]
pub struct WebSite {
    http: reqwest::Client,
}

impl Default for WebSite {
    fn default() -> Self {
        WebSite::new(Duration::from_secs(10))
    }
}

/// A page the site answered.
struct Page {
    status: reqwest::StatusCode,
    html: String,
}

impl Page {
    /// The `value` of the element whose attributes start with `marker`.
    fn value_after(&self, marker: &str) -> Option<String> {
        let start = self.html.find(marker)? + marker.len();
        let rest = &self.html[start..];
        let value = rest.find("value=\"")? + "value=\"".len();
        let end = rest[value..].find('"')? + value;
        Some(unescape(&rest[value..end]))
    }

    fn hidden(&self, name: &str) -> Option<String> {
        self.value_after(&format!("name=\"{name}\""))
    }

    /// The first error the page shows: beside a field, or in its banner.
    fn error(&self) -> String {
        let beside = self.html.find("class=\"error\"").and_then(|at| {
            let rest = &self.html[at..];
            let field = rest
                .find("id=\"f-")
                .map(|i| &rest[i + 6..])
                .and_then(|r| r.find("-error").map(|end| r[..end].to_owned()));
            let text = rest.find('>').map(|i| &rest[i + 1..])?;
            let text = &text[..text.find('<')?];
            Some(match field {
                Some(field) => format!("{field}: {}", unescape(text)),
                None => unescape(text),
            })
        });
        let banner = || {
            let at = self.html.find("class=\"banner\"")?;
            let text = &self.html[at..];
            let text = &text[text.find('>')? + 1..];
            Some(unescape(&text[..text.find('<')?]))
        };
        beside.or_else(banner).unwrap_or_else(|| {
            // Not one of the site's pages (a wrong address, a proxy): say what came back.
            let excerpt: String = self.html.chars().take(200).collect();
            format!("HTTP {}: {excerpt}", self.status)
        })
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl WebSite {
    /// A client whose every page may take `timeout`.
    pub fn new(timeout: Duration) -> Self {
        // The site's answers are its pages; the one redirect (after a seat's sign-in) is
        // followed by hand, with the cookie it sets.
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        WebSite { http }
    }

    /// Fills in the site's forms for `handoff` and returns the ID of the result page.
    pub async fn complete(&self, handoff: &Handoff) -> Result<String, Error> {
        let Desk::Web { url, seat_token } = &handoff.desk else {
            return Err(Error::WebSite(
                "this handoff is for the telephone, not the web site".into(),
            ));
        };
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base.trim_end_matches('/'), format!("?{query}")),
            None => (url.trim_end_matches('/'), String::new()),
        };
        let (task, mut fields) = handoff.answers();
        let join = if query.is_empty() { '?' } else { '&' };
        let start = format!("{base}/start{query}{join}task={task}");
        let response = self.http.get(&start).send().await.map_err(unreachable)?;
        let mut cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let mut page = read(response).await?;
        if page.html.contains("action=\"/seat") {
            // A class's seat: the site asks for the seat's token once, then starts over.
            let (again, cookies) = self
                .seat_sign_in(
                    base,
                    &query,
                    &start,
                    &page,
                    seat_token.as_deref(),
                    cookie.as_deref(),
                )
                .await?;
            page = again;
            cookie = Some(cookies);
        }
        if !page.status.is_success() {
            return Err(Error::WebSite(page.error()));
        }
        for name in ["csrf", "nonce"] {
            let value = page
                .hidden(name)
                .ok_or_else(|| Error::WebSite(format!("the first page has no {name}")))?;
            fields.push((name.to_owned(), value));
        }
        let post = format!("{base}/task/{task}{query}");
        let mut step = "0".to_owned();
        let mut go = "next";
        for _ in 0..MAX_PAGES {
            let mut posted = fields.clone();
            posted.push(("step".into(), step.clone()));
            posted.push(("go".into(), go.into()));
            let page = if go == "submit" {
                self.submit(&post, &posted, cookie.as_deref()).await?
            } else {
                self.post(&post, &posted, cookie.as_deref()).await?
            };
            if !page.status.is_success() {
                return Err(Error::WebSite(page.error()));
            }
            if go == "submit" {
                return page
                    .value_after("id=\"copy\"")
                    .ok_or_else(|| Error::WebSite("the result page shows no ID".into()));
            }
            step = page
                .hidden("step")
                .ok_or_else(|| Error::WebSite("a page has no step".into()))?;
            if page.html.contains("name=\"go\" value=\"submit\"") {
                go = "submit";
            }
        }
        Err(Error::WebSite(format!(
            "the task took more than {MAX_PAGES} pages"
        )))
    }
}

impl WebSite {
    /// Signs the browser session in to a class's seat with its token, then opens `start`
    /// again: its page, and the cookies that carry the session and the seat's sign-in.
    async fn seat_sign_in(
        &self,
        base: &str,
        query: &str,
        start: &str,
        page: &Page,
        token: Option<&str>,
        cookie: Option<&str>,
    ) -> Result<(Page, String), Error> {
        let token = token.ok_or_else(|| {
            Error::WebSite(
                "the tenant is a class's seat and the site asks for its seat token: give it to the license server (`license-server set --seat-token`)".into(),
            )
        })?;
        let csrf = page
            .hidden("csrf")
            .ok_or_else(|| Error::WebSite("the seat sign-in has no csrf".into()))?;
        let fields = [
            ("csrf".to_owned(), csrf),
            ("token".to_owned(), token.to_owned()),
        ];
        let mut request = self.http.post(format!("{base}/seat{query}")).form(&fields);
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        let response = request.send().await.map_err(unreachable)?;
        if response.status() != reqwest::StatusCode::SEE_OTHER {
            return Err(Error::WebSite(read(response).await?.error()));
        }
        let seat = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
            .unwrap_or_default();
        let cookies = match cookie {
            Some(cookie) => format!("{cookie}; {seat}"),
            None => seat,
        };
        let response = self
            .http
            .get(start)
            .header(reqwest::header::COOKIE, &cookies)
            .send()
            .await
            .map_err(unreachable)?;
        Ok((read(response).await?, cookies))
    }

    async fn post(
        &self,
        url: &str,
        fields: &[(String, String)],
        cookie: Option<&str>,
    ) -> Result<Page, Error> {
        let mut request = self.http.post(url).form(fields);
        if let Some(cookie) = cookie {
            request = request.header(reqwest::header::COOKIE, cookie);
        }
        read(request.send().await.map_err(unreachable)?).await
    }

    /// Posts the filled-in form for good. If no answer comes, the same form is sent again:
    /// the site answers a repeat with the first answer, so it is applied at most once.
    async fn submit(
        &self,
        url: &str,
        fields: &[(String, String)],
        cookie: Option<&str>,
    ) -> Result<Page, Error> {
        let mut last = None;
        for attempt in 0..SUBMIT_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            match self.post(url, fields, cookie).await {
                Err(Error::WebSiteUnreachable(reason)) => last = Some(reason),
                other => return other,
            }
        }
        Err(Error::WebSiteUnreachable(format!(
            "{}; the form was sent {SUBMIT_ATTEMPTS} times without an answer and may have been applied: check the license server's status at the Clearinghouse before sending it again",
            last.unwrap_or_default()
        )))
    }
}

fn unreachable(error: reqwest::Error) -> Error {
    let cause = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_else(|| error.to_string());
    Error::WebSiteUnreachable(cause)
}

async fn read(response: reqwest::Response) -> Result<Page, Error> {
    let status = response.status();
    let html = response.text().await.map_err(unreachable)?;
    Ok(Page { status, html })
}

/// An [`Operator`] that fills in the web site's forms itself and answers every reminder
/// as it was told to.
#[derive(Debug, Clone, Default)]
pub struct FormFiller {
    site: WebSite,
    confirm_reminders: bool,
}

impl FormFiller {
    /// A filler that confirms reminders to remove CALs by hand if `confirm_reminders`.
    pub fn new(confirm_reminders: bool) -> Self {
        FormFiller {
            site: WebSite::default(),
            confirm_reminders,
        }
    }
}

impl Operator for FormFiller {
    async fn obtain(&mut self, handoff: &Handoff) -> Result<Option<String>, Error> {
        self.site.complete(handoff).await.map(Some)
    }

    async fn confirm(&mut self, _reminder: &Reminder) -> bool {
        self.confirm_reminders
    }
}
