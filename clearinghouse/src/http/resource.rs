//! A path and the methods it takes, the same way for every door: a `GET` answers `HEAD`
//! too, and any other method gets 405 with an `Allow` header naming the ones it takes
//! (a problem document on the APIs, a page on the web site), rather than falling through
//! to "no such route".

use actix_web::http::Method;
use actix_web::http::header::ALLOW;
use actix_web::{HttpRequest, HttpResponse, Resource, Route, guard, web};
use shared::wire::{ErrorCode, Problem};

use super::{portal, reply};

/// What a door answers a request with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// Problem documents: the APIs and the health routes.
    Api,
    /// Pages: the web site.
    Site,
}

/// The resource at `path`, taking each `(method, route)`; a route is given without a
/// method (`web::to(handler)`).
pub fn resource(path: &str, door: Door, routes: Vec<(Method, Route)>) -> Resource {
    let mut allowed: Vec<String> = Vec::new();
    let mut resource = web::resource(path);
    for (method, route) in routes {
        resource = if method == Method::GET {
            allowed.extend(["GET".to_owned(), "HEAD".to_owned()]);
            resource.route(route.guard(guard::Any(guard::Get()).or(guard::Head())))
        } else {
            allowed.push(method.to_string());
            resource.route(route.guard(guard::Method(method)))
        };
    }
    let allow = allowed.join(", ");
    resource.default_service(web::to(move |request: HttpRequest| {
        let allow = allow.clone();
        async move { not_allowed(&request, &allow, door) }
    }))
}

fn not_allowed(request: &HttpRequest, allow: &str, door: Door) -> HttpResponse {
    let detail = format!("{} takes {allow}, not {}", request.path(), request.method());
    let mut response = match door {
        Door::Api => reply::problem(&Problem::new(ErrorCode::MethodNotAllowed, detail)),
        Door::Site => portal::method_not_allowed(&detail),
    };
    if let Ok(value) = allow.parse() {
        response.headers_mut().insert(ALLOW, value);
    }
    response
}
