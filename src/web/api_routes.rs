//! The outbound routes API (SPEC §12 toll-fraud guard): `GET /api/outbound-routes`,
//! `PUT /api/outbound-routes/{prefix}`, `DELETE /api/outbound-routes/{prefix}`. Admin-only;
//! routing and the role check are in `routes.rs`. A write bumps the configuration version so
//! the call engine reloads the routes at once (hourly counters of kept routes carry over).

use serde::Deserialize;

use super::http::{RequestParts, ResponseParts};
use super::routes::{internal, json_body, WebState};
use crate::storage::routes::{delete_route, save_route, RouteError};
use crate::storage::{load_pbx_config, RouteRow};

/// The body of `PUT /api/outbound-routes/{prefix}`; the prefix comes from the path.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteBody {
    strip: u32,
    trunk: String,
    #[serde(default)]
    prepend: String,
    #[serde(default)]
    caller_id: String,
    #[serde(default)]
    allow: String,
    #[serde(default)]
    deny: String,
    #[serde(default = "default_min")]
    min_digits: u32,
    #[serde(default = "default_max")]
    max_digits: u32,
    #[serde(default)]
    max_per_hour: u32,
    #[serde(default)]
    max_per_hour_per_extension: u32,
}

fn default_min() -> u32 {
    1
}

fn default_max() -> u32 {
    32
}

fn route_failure(e: RouteError) -> ResponseParts {
    match e {
        RouteError::Invalid { field, message } => ResponseParts::error(
            400,
            "invalid_route",
            &format!("{field}: {message}"),
            Some(field),
        ),
        RouteError::NotFound(p) => ResponseParts::error(
            404,
            "not_found",
            &format!("no outbound route has prefix {p:?}"),
            None,
        ),
        RouteError::Storage(e) => {
            tracing::error!(error = %e, "outbound route storage failed");
            internal()
        }
    }
}

/// `GET /api/outbound-routes`: every route, longest prefix first.
pub fn list(state: &WebState) -> ResponseParts {
    match state.with_db(|db| load_pbx_config(db.conn())) {
        Ok(pbx) => ResponseParts::json(200, &pbx.outbound_routes),
        Err(e) => {
            tracing::error!(error = %e, "loading the outbound routes failed");
            internal()
        }
    }
}

/// `PUT /api/outbound-routes/{prefix}`: creates or replaces one route.
pub fn put(state: &WebState, req: &RequestParts, prefix: &str) -> ResponseParts {
    let body: RouteBody = match json_body(
        req,
        "outbound route JSON {\"strip\", \"trunk\", \"prepend\", \"caller_id\", \"allow\", \"deny\", \"min_digits\", \"max_digits\", \"max_per_hour\", \"max_per_hour_per_extension\"}",
    ) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let row = RouteRow {
        prefix: prefix.to_owned(),
        strip: body.strip,
        trunk: body.trunk,
        prepend: body.prepend,
        caller_id: body.caller_id,
        allow: body.allow,
        deny: body.deny,
        min_digits: body.min_digits,
        max_digits: body.max_digits,
        max_per_hour: body.max_per_hour,
        max_per_hour_per_extension: body.max_per_hour_per_extension,
    };
    let mut db = match state.write_db() {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, "opening a writable connection failed");
            return internal();
        }
    };
    match save_route(db.conn_mut(), &row) {
        Ok(()) => {
            state.shared.bump_config_version();
            tracing::info!(prefix, "outbound route saved");
            ResponseParts::json(200, &row)
        }
        Err(e) => route_failure(e),
    }
}

/// `DELETE /api/outbound-routes/{prefix}`.
pub fn delete(state: &WebState, prefix: &str) -> ResponseParts {
    let db = match state.write_db() {
        Ok(db) => db,
        Err(e) => {
            tracing::error!(error = %e, "opening a writable connection failed");
            return internal();
        }
    };
    match delete_route(db.conn(), prefix) {
        Ok(()) => {
            state.shared.bump_config_version();
            tracing::info!(prefix, "outbound route deleted");
            ResponseParts::json(200, &serde_json::json!({ "deleted": prefix }))
        }
        Err(e) => route_failure(e),
    }
}
