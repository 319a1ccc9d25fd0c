//! Outbound routes as the admin edits them (`/api/outbound-routes`): validation that names the
//! field, and writes that either store the whole route or nothing (SPEC §12).

use rusqlite::{params, Connection, TransactionBehavior};

use super::config::RouteRow;
use super::StorageError;

/// Why a route was refused.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A field has a value the guard cannot use.
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault (`deny`, `trunk` …).
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// No route has this prefix.
    #[error("no outbound route has prefix {0:?}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<rusqlite::Error> for RouteError {
    fn from(e: rusqlite::Error) -> RouteError {
        RouteError::Storage(e.into())
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> RouteError {
    RouteError::Invalid {
        field,
        message: message.into(),
    }
}

fn digits_only(field: &'static str, value: &str, allow_plus: bool) -> Result<(), RouteError> {
    let body = if allow_plus {
        value.strip_prefix('+').unwrap_or(value)
    } else {
        value
    };
    if value.len() > 32 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            field,
            format!("{value:?} must be at most 32 digits"),
        ));
    }
    Ok(())
}

/// Checks every field of `row` (the trunk's existence is checked in [`save_route`]).
pub fn validate_route(row: &RouteRow) -> Result<(), RouteError> {
    if row.prefix.is_empty() {
        return Err(invalid("prefix", "the dialled prefix must not be empty"));
    }
    digits_only("prefix", &row.prefix, false)?;
    if row.strip > 32 {
        return Err(invalid(
            "strip",
            format!("{} is more than 32 digits", row.strip),
        ));
    }
    digits_only("prepend", &row.prepend, false)?;
    digits_only("caller_id", &row.caller_id, true)?;
    crate::core::outbound::parse_prefix_list(&row.allow).map_err(|m| invalid("allow", m))?;
    crate::core::outbound::parse_prefix_list(&row.deny).map_err(|m| invalid("deny", m))?;
    for (field, v) in [
        ("min_digits", row.min_digits),
        ("max_digits", row.max_digits),
    ] {
        if !(1..=32).contains(&v) {
            return Err(invalid(field, format!("{v} is not within 1..=32")));
        }
    }
    if row.min_digits > row.max_digits {
        return Err(invalid(
            "min_digits",
            format!("{} is above max_digits {}", row.min_digits, row.max_digits),
        ));
    }
    row.to_route().map_err(|m| invalid("route", m))?;
    Ok(())
}

/// Stores `row` (new or replacing the route with the same prefix) in one transaction.
pub fn save_route(conn: &mut Connection, row: &RouteRow) -> Result<(), RouteError> {
    validate_route(row)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let trunk_known: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM trunks WHERE name = ?1)",
        [&row.trunk],
        |r| r.get(0),
    )?;
    if !trunk_known {
        return Err(invalid(
            "trunk",
            format!("no trunk is named {:?}", row.trunk),
        ));
    }
    tx.execute(
        "INSERT INTO outbound_routes (prefix, strip, trunk, prepend, caller_id, allow, deny, \
         min_digits, max_digits, max_per_hour, max_per_hour_per_extension) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (prefix) DO UPDATE SET strip = excluded.strip, trunk = excluded.trunk, \
         prepend = excluded.prepend, caller_id = excluded.caller_id, allow = excluded.allow, \
         deny = excluded.deny, min_digits = excluded.min_digits, \
         max_digits = excluded.max_digits, max_per_hour = excluded.max_per_hour, \
         max_per_hour_per_extension = excluded.max_per_hour_per_extension",
        params![
            row.prefix,
            row.strip,
            row.trunk,
            row.prepend,
            row.caller_id,
            row.allow,
            row.deny,
            row.min_digits,
            row.max_digits,
            row.max_per_hour,
            row.max_per_hour_per_extension
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// Removes the route with `prefix`.
pub fn delete_route(conn: &Connection, prefix: &str) -> Result<(), RouteError> {
    let n = conn.execute("DELETE FROM outbound_routes WHERE prefix = ?1", [prefix])?;
    if n == 0 {
        return Err(RouteError::NotFound(prefix.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{load_pbx_config, seed_demo, Db};

    fn demo() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("t.db")).unwrap();
        seed_demo(db.conn_mut()).unwrap();
        (dir, db)
    }

    fn row() -> RouteRow {
        RouteRow {
            prefix: "8".into(),
            strip: 1,
            trunk: "pstn".into(),
            prepend: String::new(),
            caller_id: "02155550100".into(),
            allow: "1,021".into(),
            deny: "00".into(),
            min_digits: 3,
            max_digits: 15,
            max_per_hour: 100,
            max_per_hour_per_extension: 10,
        }
    }

    #[test]
    fn a_valid_route_is_stored_whole_and_loads_back() {
        let (_d, mut db) = demo();
        save_route(db.conn_mut(), &row()).unwrap();
        let pbx = load_pbx_config(db.conn()).unwrap();
        let got = pbx
            .outbound_routes
            .iter()
            .find(|r| r.prefix == "8")
            .unwrap();
        assert_eq!(got, &row());
        // Saving again replaces it.
        let again = RouteRow {
            max_per_hour: 5,
            ..row()
        };
        save_route(db.conn_mut(), &again).unwrap();
        let pbx = load_pbx_config(db.conn()).unwrap();
        assert_eq!(
            pbx.outbound_routes
                .iter()
                .filter(|r| r.prefix == "8")
                .count(),
            1
        );
        assert!(pbx.outbound_routes.iter().any(|r| r.max_per_hour == 5));
    }

    #[test]
    fn bad_fields_are_named_and_nothing_is_stored() {
        let (_d, mut db) = demo();
        let cases: Vec<(RouteRow, &str)> = vec![
            (
                RouteRow {
                    prefix: "9a".into(),
                    ..row()
                },
                "prefix",
            ),
            (
                RouteRow {
                    deny: "00,x".into(),
                    ..row()
                },
                "deny",
            ),
            (
                RouteRow {
                    allow: "+".into(),
                    ..row()
                },
                "allow",
            ),
            (
                RouteRow {
                    caller_id: "main".into(),
                    ..row()
                },
                "caller_id",
            ),
            (
                RouteRow {
                    min_digits: 9,
                    max_digits: 4,
                    ..row()
                },
                "min_digits",
            ),
            (
                RouteRow {
                    max_digits: 40,
                    ..row()
                },
                "max_digits",
            ),
            (
                RouteRow {
                    trunk: "nowhere".into(),
                    ..row()
                },
                "trunk",
            ),
        ];
        for (bad, field) in cases {
            match save_route(db.conn_mut(), &bad) {
                Err(RouteError::Invalid { field: f, .. }) => assert_eq!(f, field, "{bad:?}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        let pbx = load_pbx_config(db.conn()).unwrap();
        assert!(pbx
            .outbound_routes
            .iter()
            .all(|r| r.prefix != "8" && r.prefix != "9a"));
    }

    #[test]
    fn deleting_an_unknown_route_says_so() {
        let (_d, db) = demo();
        assert!(matches!(
            delete_route(db.conn(), "5"),
            Err(RouteError::NotFound(_))
        ));
        delete_route(db.conn(), "9").unwrap();
    }
}
