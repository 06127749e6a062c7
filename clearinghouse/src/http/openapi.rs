//! The OpenAPI document served at `/api/v1/openapi.json`: every route of every door, its
//! bodies' schemas derived from the shared wire types (so a type and its description
//! cannot part), and what every route of a door has in common (the tenant and idempotency
//! headers, the admin token, problem documents) added once, by [`Common`].
//!
//! The operations below carry only their description; tests hold the set of them equal to
//! the routes the server registers, and Schemathesis holds the server to the document.

// The functions and types here exist to be described: nothing calls or builds them.
#![allow(dead_code)]

use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi as Document, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use shared::id::{KeyPackId, LicenseServerId};
use shared::wire::{
    ActivateRequest, AuditReport, ClassReport, CreateTenantRequest, DeactivateRequest, FaultInfo,
    FaultList, FaultSpec, Health, History, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER,
    InstallCalsRequest, JournalPage, KeyPackIssued, KeyPackRecord, LicenseServerActivated,
    LicenseServerDeactivated, LicenseServerStatus, MigrateCalsRequest, PROBLEM_CONTENT_TYPE,
    PhoneLines, Problem, PurchaseSpec, ReactivateRequest, RecoverCalsRequest, ReplayReport,
    SEAT_TOKEN_HEADER, SeedRequest, TENANT_HEADER, TenantClock, TenantInfo,
};

use super::api::Catalog;

/// The pattern of a tenant's name (what `TenantName::parse` takes).
pub const TENANT_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,62}$";

/// The document, as served.
pub fn document() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| Doc::openapi().to_pretty_json().unwrap_or_default())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clearinghouse simulator",
        description = "A simulator of the Microsoft Clearinghouse, which activates Remote Desktop license servers and issues, migrates and recovers their client access licenses (CALs). The API is the automatic connection method; the web site and the phone line are the other two. The admin API (bearer token) manages tenants and their test controls.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        activate, reactivate, deactivate, install_cals, migrate_cals, recover_cals,
        license_server, verify_key_pack, catalog, phone_lines, openapi_document,
        health, ready,
        list_tenants, create_tenant, delete_tenant, reset_tenant, add_purchase, audit_tenant,
        tenant_history, list_classes, put_class,
        list_faults, set_fault, clear_faults, clear_fault, journal, clear_journal, set_seed,
        read_clock, change_clock, export_snapshot, import_snapshot, replay,
        site_home, site_start, site_task, instructor_page, instructor_sign_in, seat_sign_in, site_style,
    ),
    components(schemas(Problem, Snapshot, JournalFormat, JournalLines)),
    modifiers(&Common),
    tags(
        (name = "licensing", description = "The automatic connection method: what a license server asks the Clearinghouse."),
        (name = "health", description = "Liveness and readiness."),
        (name = "admin", description = "Tenants, purchases and the audit (admin token)."),
        (name = "controls", description = "A tenant's test controls: faults, journal, seed, clock, snapshots, replays (admin token)."),
        (name = "site", description = "The licensing web site of the web browser method: HTML pages and forms."),
    ),
)]
struct Doc;

/// A tenant's snapshot file, as `GET .../snapshot` writes it and `POST .../snapshot`
/// reads it.
#[derive(ToSchema)]
struct Snapshot {
    /// Always `clearinghouse-tenant-snapshot`.
    #[schema(pattern = "^clearinghouse-tenant-snapshot$")]
    format: String,
    /// The layout's version: 1.
    #[schema(minimum = 1, maximum = 1)]
    version: u32,
    /// The SHA-256 of `body` exactly as written in the file, as lowercase hex. A file
    /// whose body does not match is refused (422 invalid_snapshot).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    sha256: String,
    /// The tenant's state.
    body: serde_json::Value,
}

/// What every route of a door has in common, added to each of its operations.
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let door = Door::of(path);
            let reads_tenant = !["/catalog", "/phone-lines", "/openapi.json"]
                .iter()
                .any(|end| path.ends_with(end));
            let tenant = if path.contains("{tenant}") {
                Some(tenant(ParameterIn::Path, "The tenant."))
            } else if door == Door::Site && !path.ends_with(".css") {
                Some(tenant(
                    ParameterIn::Query,
                    "The tenant; `default` when absent or empty.",
                ))
            } else {
                None
            };
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.delete, false),
            ];
            for (operation, posts) in operations {
                if let Some(operation) = operation.as_mut() {
                    if let Some(tenant) = &tenant {
                        operation
                            .parameters
                            .get_or_insert_with(Vec::new)
                            .insert(0, tenant.clone().into());
                    }
                    door.apply(operation, posts, reads_tenant);
                }
            }
        }
    }
}

/// The doors, by what their routes share.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Door {
    Api,
    Admin,
    Health,
    Site,
}

impl Door {
    fn of(path: &str) -> Door {
        if super::guard::is_site(path) {
            Door::Site
        } else if path.starts_with("/api/") {
            Door::Api
        } else if path.starts_with("/admin/") {
            Door::Admin
        } else {
            Door::Health
        }
    }

    fn apply(self, operation: &mut Operation, posts: bool, reads_tenant: bool) {
        let parameters = operation.parameters.get_or_insert_with(Vec::new);
        match self {
            // The catalog, the phone desks and this document are the same for every tenant.
            Door::Api if !reads_tenant => problems(operation, posts),
            Door::Api => {
                parameters.push(
                    header(
                        TENANT_HEADER,
                        "The tenant the request is for; `default` when absent.",
                        TENANT_PATTERN,
                    )
                    .into(),
                );
                parameters.push(RefOr::T(header(
                    SEAT_TOKEN_HEADER,
                    "The seat token, for a tenant that is a training class's seat (created with a `seat_token`): without it, or with another, the request is refused (403 seat_token_required). Other tenants ignore it.",
                    "^[0-9]{6,32}$",
                )));
                if posts {
                    parameters.push(RefOr::T(header(
                        IDEMPOTENCY_KEY_HEADER,
                        "Makes the request idempotent: a retry with the same key and body gets the first answer (`Idempotent-Replayed: true`), the same key with another body 422 idempotency_key_reused. Only what the ledger answered is saved under a key; a request refused before it (a malformed body, 415, 413) leaves the key unused.",
                        "^[\\x21-\\x7e]{1,255}$",
                    )));
                    for response in operation.responses.responses.values_mut() {
                        if let RefOr::T(response) = response {
                            response.headers.insert(
                                IDEMPOTENT_REPLAYED_HEADER.to_owned(),
                                HeaderBuilder::new()
                                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["true"]))))
                                    .description(Some("`true` when this is the saved answer to an earlier request with the same key."))
                                    .build()
                                    .into(),
                            );
                        }
                    }
                }
                problems(operation, posts);
            }
            Door::Admin => {
                operation.security = Some(vec![SecurityRequirement::new(
                    "admin_token",
                    Vec::<String>::new(),
                )]);
                let unauthorized = ResponseBuilder::new()
                    .description("The admin token is missing or wrong.")
                    .header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(Some(String::schema()))
                            .description(Some("`Bearer realm=\"clearinghouse admin\"`"))
                            .build(),
                    )
                    .content(PROBLEM_CONTENT_TYPE, problem_content())
                    .build();
                operation
                    .responses
                    .responses
                    .insert("401".to_owned(), unauthorized.into());
                problems(operation, posts);
            }
            Door::Health => {}
            Door::Site => {
                let page = ResponseBuilder::new()
                    .description("A page that says what went wrong and how to start again.")
                    .content(
                        "text/html",
                        ContentBuilder::new().schema(Some(String::schema())).build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .insert("default".to_owned(), page.into());
            }
        }
        if operation.parameters.as_ref().is_some_and(Vec::is_empty) {
            operation.parameters = None;
        }
    }
}

/// The tenant a route of the admin API or the site names.
fn tenant(place: ParameterIn, description: &str) -> Parameter {
    // In the query, an empty tenant is the default one.
    let (required, pattern) = if place == ParameterIn::Path {
        (Required::True, TENANT_PATTERN.to_owned())
    } else {
        (
            Required::False,
            format!("^({})?$", &TENANT_PATTERN[1..TENANT_PATTERN.len() - 1]),
        )
    };
    ParameterBuilder::new()
        .name("tenant")
        .parameter_in(place)
        .required(required)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        ))
        .build()
}

fn header(name: &str, description: &str, pattern: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        ))
        .build()
}

fn problem_content() -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build()
}

/// The problem documents every operation may answer, besides those it lists.
fn problems(operation: &mut Operation, posts: bool) {
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str| {
        responses.entry(status.to_owned()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content(PROBLEM_CONTENT_TYPE, problem_content())
                .build()
                .into()
        });
    };
    if posts {
        add("408", "The body did not arrive in time (request_timeout).");
        add(
            "413",
            "The body is larger than the route takes (payload_too_large).",
        );
        add(
            "415",
            "The body is not sent as JSON (unsupported_media_type).",
        );
    }
    add(
        "403",
        "The request came from a page of another site (cross_site_request), or a class seat's tenant was asked without its seat token (seat_token_required).",
    );
    add(
        "default",
        "Another error, as a problem document (RFC 9457) whose `code` says which; a fault injected for testing answers the status it was set with.",
    );
}

// The licensing API.

/// Activate a license server: its product ID and company information give it a license
/// server ID.
#[utoipa::path(
    post, path = "/api/v1/activations", operation_id = "activate_license_server", tag = "licensing",
    request_body = ActivateRequest,
    responses(
        (status = 201, description = "Activated.", body = LicenseServerActivated),
        (status = 409, description = "The product ID was activated already (already_activated).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid: `field` names it (invalid_field, id_typo, wrong_id_kind, malformed_request).", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn activate() {}

/// Reactivate a license server: it gets a new license server ID; the old one receives
/// nothing more.
#[utoipa::path(
    post, path = "/api/v1/reactivations", operation_id = "reactivate_license_server", tag = "licensing",
    request_body = ReactivateRequest,
    responses(
        (status = 201, description = "Reactivated under a new license server ID.", body = LicenseServerActivated),
        (status = 404, description = "No license server has this ID (unknown_license_server).", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It was replaced already, or the product ID is another's.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn reactivate() {}

/// Deactivate a license server: a confirmation code; it receives nothing until
/// reactivated.
#[utoipa::path(
    post, path = "/api/v1/deactivations", operation_id = "deactivate_license_server", tag = "licensing",
    request_body = DeactivateRequest,
    responses(
        (status = 200, description = "Deactivated.", body = LicenseServerDeactivated),
        (status = 404, description = "No license server has this ID.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It is deactivated or replaced already.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn deactivate() {}

/// Install CALs bought under a license program: a key pack ID bound to the license server.
#[utoipa::path(
    post, path = "/api/v1/key-packs", operation_id = "install_cals", tag = "licensing",
    request_body = InstallCalsRequest,
    responses(
        (status = 201, description = "A key pack was issued.", body = KeyPackIssued),
        (status = 404, description = "No such license server or agreement.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too few CALs remain (`remaining` says how many), the license code was used, or the server cannot receive.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid, or the CALs are newer than the server runs (cals_too_new).", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn install_cals() {}

/// Migrate CALs from a source license server to this one.
#[utoipa::path(
    post, path = "/api/v1/migrations", operation_id = "migrate_cals", tag = "licensing",
    request_body = MigrateCalsRequest,
    responses(
        (status = 201, description = "A key pack for the target was issued; the source's allocation moved.", body = KeyPackIssued),
        (status = 404, description = "No such license server or agreement.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to migrate, migrated already, or the target cannot receive.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn migrate_cals() {}

/// Recover the unissued CALs a license server lost when its database was restored onto a
/// new installation.
#[utoipa::path(
    post, path = "/api/v1/recoveries", operation_id = "recover_cals", tag = "licensing",
    request_body = RecoverCalsRequest,
    responses(
        (status = 201, description = "A key pack reissued the lost CALs; no new CALs were allocated.", body = KeyPackIssued),
        (status = 404, description = "No such license server or agreement.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to recover.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn recover_cals() {}

/// What the Clearinghouse knows of a license server: its status and key packs.
#[utoipa::path(
    get, path = "/api/v1/license-servers/{license_server_id}", operation_id = "get_license_server", tag = "licensing",
    params(("license_server_id" = LicenseServerId, Path, description = "The license server ID.")),
    responses(
        (status = 200, description = "Its status.", body = LicenseServerStatus),
        (status = 404, description = "No license server has this ID.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The ID has a typo or is of another kind.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn license_server() {}

/// Verify a key pack ID for a license server.
#[utoipa::path(
    get, path = "/api/v1/license-servers/{license_server_id}/key-packs/{key_pack_id}", operation_id = "verify_key_pack", tag = "licensing",
    params(
        ("license_server_id" = LicenseServerId, Path, description = "The license server ID."),
        ("key_pack_id" = KeyPackId, Path, description = "The key pack ID."),
    ),
    responses(
        (status = 200, description = "The key pack, as the Clearinghouse recorded it.", body = KeyPackRecord),
        (status = 404, description = "No such license server or key pack.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An ID has a typo, is of another kind, or the key pack is another server's.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn verify_key_pack() {}

/// The terms the API takes: product versions, license types, programs, operating systems.
#[utoipa::path(
    get, path = "/api/v1/catalog", operation_id = "get_catalog", tag = "licensing",
    responses((status = 200, description = "The catalog.", body = Catalog)),
)]
fn catalog() {}

/// The telephone desks and where the phone line answers them.
#[utoipa::path(
    get, path = "/api/v1/phone-lines", operation_id = "get_phone_lines", tag = "licensing",
    responses((status = 200, description = "The desks.", body = PhoneLines)),
)]
fn phone_lines() {}

/// This document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", operation_id = "get_openapi_document", tag = "licensing",
    responses((status = 200, description = "The OpenAPI document.", body = Object)),
)]
fn openapi_document() {}

// Health.

/// Whether the clearinghouse is alive: 503 when a part it cannot work without has died.
#[utoipa::path(
    get, path = "/health", operation_id = "health", tag = "health",
    responses(
        (status = 200, description = "Alive.", body = Health),
        (status = 503, description = "The ledger's writer has stopped; the process is exiting.", body = Health),
    ),
)]
fn health() {}

/// Whether the clearinghouse is ready for requests.
#[utoipa::path(
    get, path = "/ready", operation_id = "ready", tag = "health",
    responses(
        (status = 200, description = "Ready.", body = Health),
        (status = 503, description = "Not ready: the ledger's writer has stopped.", body = Health),
    ),
)]
fn ready() {}

// The admin API.

/// Every tenant.
#[utoipa::path(
    get, path = "/admin/v1/tenants", operation_id = "list_tenants", tag = "admin",
    responses((status = 200, description = "The tenants.", body = Vec<TenantInfo>)),
)]
fn list_tenants() {}

/// Create a tenant, seeded with the fixtures unless asked not to.
#[utoipa::path(
    post, path = "/admin/v1/tenants", operation_id = "create_tenant", tag = "admin",
    request_body = CreateTenantRequest,
    responses(
        (status = 201, description = "Created.", body = TenantInfo),
        (status = 409, description = "It exists already (already_exists).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn create_tenant() {}

/// Delete a tenant and everything it holds.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{tenant}", operation_id = "delete_tenant", tag = "admin",
    responses(
        (status = 200, description = "Deleted.", body = TenantInfo),
        (status = 404, description = "No such tenant (unknown_tenant).", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn delete_tenant() {}

/// Put a tenant back as it was created: its seed, its fixtures, nothing issued.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{tenant}/reset", operation_id = "reset_tenant", tag = "admin",
    responses(
        (status = 200, description = "Reset.", body = TenantInfo),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn reset_tenant() {}

/// Add an agreement, Open License or retail license pack to a tenant.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{tenant}/purchases", operation_id = "add_purchase", tag = "admin",
    request_body = PurchaseSpec,
    responses(
        (status = 201, description = "Added.", body = inline(Added)),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It exists already.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn add_purchase() {}

/// What `add_purchase` answers.
#[derive(ToSchema)]
struct Added {
    /// Always `true`.
    added: bool,
}

/// Recount a tenant: CALs conserved, key packs bound to their servers.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{tenant}/audit", operation_id = "audit_tenant", tag = "admin",
    responses(
        (status = 200, description = "The audit; `ok` says whether it passed.", body = AuditReport),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn audit_tenant() {}

/// Every change to a tenant's licenses, oldest first, with the connection method it came
/// by. Kept in the ledger: it outlives a restart, unlike the journal.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{tenant}/history", operation_id = "tenant_history", tag = "admin",
    responses(
        (status = 200, description = "The history.", body = History),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn tenant_history() {}

/// Every training lab class the clearinghouse keeps, with its seats' grades.
#[utoipa::path(
    get, path = "/admin/v1/classes", operation_id = "list_classes", tag = "admin",
    responses(
        (status = 200, description = "The classes, by name.", body = Vec<ClassReport>),
    ),
)]
fn list_classes() {}

/// Keep a training lab class's report (its seats and their grades), replacing the one
/// kept under its name; the instructor page shows it.
#[utoipa::path(
    put, path = "/admin/v1/classes/{class}", operation_id = "put_class", tag = "admin",
    params(("class" = String, Path, description = "The class's name, as in the report.", pattern = "^[a-z0-9][a-z0-9-]{0,62}$")),
    request_body = ClassReport,
    responses(
        (status = 201, description = "Kept.", body = ClassReport),
        (status = 413, description = "The report is over 1 MiB.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The class name is not valid, or not the report's.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn put_class() {}

// The test controls.

/// A tenant's faults.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{tenant}/faults", operation_id = "list_faults", tag = "controls",
    responses(
        (status = 200, description = "Its faults.", body = FaultList),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn list_faults() {}

/// Inject a fault into a tenant's API answers.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{tenant}/faults", operation_id = "set_fault", tag = "controls",
    request_body = FaultSpec,
    responses(
        (status = 201, description = "Set.", body = FaultInfo),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid, or the route is no API route.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn set_fault() {}

/// Clear every fault of a tenant (its list stays, empty).
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{tenant}/faults", operation_id = "clear_faults", tag = "controls",
    responses(
        (status = 200, description = "Its faults now: none.", body = FaultList),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn clear_faults() {}

/// Clear one fault of a tenant.
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{tenant}/faults/{id}", operation_id = "clear_fault", tag = "controls",
    params(
        ("id" = u64, Path, description = "The fault's number, as listed."),
    ),
    responses(
        (status = 200, description = "Its faults now.", body = FaultList),
        (status = 404, description = "No such tenant or fault.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn clear_fault() {}

/// A tenant's journal: what it received and answered, oldest first, a page at a time; or
/// every entry as JSON lines (what a replay reads).
#[utoipa::path(
    get, path = "/admin/v1/tenants/{tenant}/journal", operation_id = "get_journal", tag = "controls",
    params(
        ("after" = Option<u64>, Query, description = "Start after this entry number (default 0)."),
        ("limit" = Option<u16>, Query, minimum = 1, maximum = 1000, description = "At most this many entries (default 100); ignored with `format=jsonl`."),
        ("format" = Option<JournalFormat>, Query, description = "`json` (a page, the default) or `jsonl` (every entry, one per line)."),
    ),
    responses(
        (status = 200, description = "The entries.", content(
            (JournalPage = "application/json"),
            (String = "application/x-ndjson"),
        )),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The query is not understood.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn journal() {}

/// A journal as text: one entry (a JSON document) per line, at least one.
struct JournalLines;

impl PartialSchema for JournalLines {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("\\S"))
            .description(Some(
                "One journal entry per line, as `get_journal` with `format=jsonl` gives them.",
            ))
            .into()
    }
}

impl ToSchema for JournalLines {}

/// How `get_journal` answers.
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
enum JournalFormat {
    /// A page of entries.
    Json,
    /// Every entry, one JSON document per line.
    Jsonl,
}

/// Forget a tenant's journal (entry numbers are not reused).
#[utoipa::path(
    delete, path = "/admin/v1/tenants/{tenant}/journal", operation_id = "clear_journal", tag = "controls",
    responses(
        (status = 200, description = "The journal now: empty.", body = JournalPage),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn clear_journal() {}

/// Give a tenant a new seed: the IDs it draws from now on derive from it.
#[utoipa::path(
    put, path = "/admin/v1/tenants/{tenant}/seed", operation_id = "set_seed", tag = "controls",
    request_body = SeedRequest,
    responses(
        (status = 200, description = "Set.", body = TenantInfo),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The seed is not valid.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn set_seed() {}

/// The time on a tenant's clock.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{tenant}/clock", operation_id = "get_clock", tag = "controls",
    responses(
        (status = 200, description = "Its time.", body = TenantClock),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn read_clock() {}

/// Set a tenant's clock, or move it forward.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{tenant}/clock", operation_id = "change_clock", tag = "controls",
    request_body = shared::wire::ClockRequest,
    responses(
        (status = 200, description = "Its time now.", body = TenantClock),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a time or length of time, or past the clock's bounds.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn change_clock() {}

/// A tenant's whole state as a snapshot file.
#[utoipa::path(
    get, path = "/admin/v1/tenants/{tenant}/snapshot", operation_id = "export_snapshot", tag = "controls",
    responses(
        (status = 200, description = "The snapshot file.", body = Snapshot),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn export_snapshot() {}

/// Create a tenant (it must not exist) from a snapshot file.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{tenant}/snapshot", operation_id = "import_snapshot", tag = "controls",
    request_body = Snapshot,
    responses(
        (status = 201, description = "Created from the snapshot.", body = TenantInfo),
        (status = 409, description = "The tenant exists already.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file is damaged, truncated, of another format or version, or its ledger does not balance (invalid_snapshot); nothing was imported.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn import_snapshot() {}

/// Apply a journal (as `get_journal` with `format=jsonl` gives it) to a fresh tenant, and
/// compare the IDs issued with the journal's.
#[utoipa::path(
    post, path = "/admin/v1/tenants/{tenant}/replay", operation_id = "replay_journal", tag = "controls",
    request_body(content = JournalLines, content_type = "application/x-ndjson", description = "The journal, one entry per line."),
    responses(
        (status = 200, description = "What the replay did; `mismatches` lists every difference.", body = ReplayReport),
        (status = 404, description = "No such tenant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A line is not a journal entry.", body = Problem, content_type = "application/problem+json"),
    ),
)]
fn replay() {}

// The web site.

/// The first page: what to do.
#[utoipa::path(
    get, path = "/", operation_id = "site_home", tag = "site",
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
fn site_home() {}

/// The first page of a task.
#[utoipa::path(
    get, path = "/start", operation_id = "site_start", tag = "site",
    params(
        ("task" = Option<String>, Query, description = "The task, e.g. `activate` or `install-cals`."),
    ),
    responses((status = 200, description = "The page.", content_type = "text/html", body = String)),
)]
fn site_start() {}

/// Every later page of a task: the form of the page before, with its anti-forgery token.
#[utoipa::path(
    post, path = "/task/{task}", operation_id = "site_task", tag = "site",
    params(
        ("task" = String, Path, description = "The task."),
    ),
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "The form's fields."),
    responses((status = 200, description = "The next page, or the result.", content_type = "text/html", body = String)),
)]
fn site_task() {}

/// What was done in a tenant, newest first; a sign-in form until the session signs in.
#[utoipa::path(
    get, path = "/instructor", operation_id = "instructor_page", tag = "site",
    responses((status = 200, description = "The page, or its sign-in form.", content_type = "text/html", body = String)),
)]
fn instructor_page() {}

/// Sign the session in to the instructor page with the admin token.
#[utoipa::path(
    post, path = "/instructor", operation_id = "instructor_sign_in", tag = "site",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the form's token) and `token` (the admin token)."),
    responses((status = 303, description = "Signed in: to the instructor page.")),
)]
fn instructor_sign_in() {}

/// Sign the session in to a class's seat with the seat's token.
#[utoipa::path(
    post, path = "/seat", operation_id = "seat_sign_in", tag = "site",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`csrf` (the form's token) and `token` (the seat token)."),
    responses((status = 303, description = "Signed in: to the site's first page.")),
)]
fn seat_sign_in() {}

/// The site's style sheet.
#[utoipa::path(
    get, path = "/site.css", operation_id = "site_style", tag = "site",
    responses((status = 200, description = "The style sheet.", content_type = "text/css", body = String)),
)]
fn site_style() {}
