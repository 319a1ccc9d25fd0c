//! SQLite storage: the append-only event log, call detail records and the operational
//! configuration (DESIGN.md: one writer thread, numbered embedded migrations, UTC milliseconds).
//!
//! Files: `migrations/` (the schema, forward-only), `events.rs` (the event log), `cdr.rs`
//! (call records and crash recovery), `writer.rs` (the single writer thread), `config.rs`
//! (typed loaders of the PBX configuration), `users.rs` (web accounts and password hashes),
//! `seed.rs` (the demo profile and the first administrator), `crm.rs` (customers, custom
//! fields, the customer timeline), `summaries.rs` (service summaries and their categories),
//! `tickets.rs` (ticket types, tickets, SLA), `contact_plans.rs` (call-back reminders),
//! `admin.rs` (extensions, users, skill groups, trunks, DIDs and the agent policy as the admin
//! edits them), `endpoints.rs` (the endpoint an agent works on: desk phone or mobile number),
//! `chat.rs` (web chat: the message pool, chat limits, session records read from the log).

pub mod admin;
pub mod audit;
pub mod call_list;
mod cdr;
pub mod chat;
mod config;
pub mod contact_plans;
pub mod crm;
pub mod endpoints;
mod events;
pub mod ivr;
pub mod prompts;
pub mod report_events;
pub mod rollups;
pub mod routes;
mod seed;
pub mod summaries;
pub mod tickets;
pub mod tokens;
mod users;
pub mod voicemail;
mod writer;

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use cdr::{cdr_for_call, insert_cdr, list_calls, recover_interrupted, Cdr};
pub use config::{
    group_specs, load_pbx_config, DidRow, ExtensionRow, GroupConfigError, MemberRow, PbxConfig,
    RouteRow, SkillGroupRow, TrunkRow,
};
pub use events::{events_for_call, insert_event, Event};
pub use seed::{seed_demo, seed_initial_admin};
pub use users::{create_user, hash_password, verify_user, Role, User, ROLES};
pub use writer::StorageWriter;

/// How long a connection waits for another one's lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The schema migrations, in order. Version N is `MIGRATIONS[N - 1]`; released entries are never
/// edited, only appended (DESIGN.md convention 11).
const MIGRATIONS: &[(&str, &str)] = &[
    ("event_log", include_str!("migrations/0001_event_log.sql")),
    (
        "operational_config",
        include_str!("migrations/0002_operational_config.sql"),
    ),
    ("ivr", include_str!("migrations/0003_ivr.sql")),
    ("prompts", include_str!("migrations/0004_prompts.sql")),
    ("acd", include_str!("migrations/0005_acd.sql")),
    (
        "outbound_guard",
        include_str!("migrations/0006_outbound_guard.sql"),
    ),
    (
        "web_security",
        include_str!("migrations/0007_web_security.sql"),
    ),
    ("crm", include_str!("migrations/0008_crm.sql")),
    (
        "roles_and_config",
        include_str!("migrations/0009_roles_and_config.sql"),
    ),
    (
        "agent_endpoints",
        include_str!("migrations/0010_agent_endpoints.sql"),
    ),
    (
        "report_rollups",
        include_str!("migrations/0011_report_rollups.sql"),
    ),
    (
        "agent_state_index",
        include_str!("migrations/0012_agent_state_index.sql"),
    ),
    (
        "call_list_indexes",
        include_str!("migrations/0013_call_list_indexes.sql"),
    ),
    (
        "departments",
        include_str!("migrations/0014_departments.sql"),
    ),
    ("web_chat", include_str!("migrations/0015_web_chat.sql")),
    (
        "group_survey",
        include_str!("migrations/0016_group_survey.sql"),
    ),
    (
        "chat_phone_index",
        include_str!("migrations/0017_chat_phone_index.sql"),
    ),
];

/// The schema version this binary migrates to.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A JSON column could not be encoded or decoded.
    #[error("json column: {0}")]
    Json(#[from] serde_json::Error),
    /// The database was written by a newer Branchline; migrations only run forward.
    #[error("database schema version {found} is newer than this binary's {supported}")]
    SchemaTooNew {
        /// The version found in the file.
        found: u32,
        /// The newest version this binary knows.
        supported: u32,
    },
    /// A read-only open found a database that has not been migrated yet.
    #[error("database schema version {found} is older than {expected}: run `branchline migrate`")]
    SchemaTooOld {
        /// The version found in the file.
        found: u32,
        /// The version this binary needs.
        expected: u32,
    },
    /// A migration failed; nothing of it was applied.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// The migration's number.
        version: u32,
        /// The migration's name.
        name: &'static str,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A stored value is not one this binary understands (e.g. an unknown role).
    #[error("bad value in {column}: {value:?}")]
    BadValue {
        /// Table and column.
        column: &'static str,
        /// The offending value.
        value: String,
    },
    /// A caller passed an argument out of range.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// The argument's name.
        name: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Password hashing failed (argon2).
    #[error("password hash: {0}")]
    PasswordHash(String),
    /// The OS random source failed.
    #[error("random source: {0}")]
    Random(String),
    /// The writer thread is gone or reported a failed write.
    #[error("storage writer: {0}")]
    Writer(String),
}

/// An open SQLite database with the schema migrated to [`SCHEMA_VERSION`].
#[derive(Debug)]
pub struct Db {
    conn: Connection,
}

impl Db {
    /// Opens or creates the database at `path`, switches it to WAL and runs pending migrations.
    pub fn open(path: &Path) -> Result<Db, StorageError> {
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        // WAL lets the web tier read while the writer commits (DESIGN.md: one writer thread).
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(%mode, "SQLite refused WAL mode");
        }
        // SPEC §12: a committed CDR survives a power cut, so every commit is synced.
        conn.execute_batch("PRAGMA synchronous=FULL")?;
        migrate(&mut conn)?;
        Ok(Db { conn })
    }

    /// Opens an existing, migrated database for reading only (the web tier's connections).
    pub fn open_readonly(path: &Path) -> Result<Db, StorageError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&conn)?;
        let found = user_version(&conn)?;
        if found < SCHEMA_VERSION {
            return Err(StorageError::SchemaTooOld {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(Db { conn })
    }

    /// The schema version recorded in the file (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<u32, StorageError> {
        user_version(&self.conn)
    }

    /// The underlying connection, for the query functions of this module.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The underlying connection, mutably (transactions need `&mut`).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Gives up the wrapper and returns the connection.
    pub fn into_conn(self) -> Connection {
        self.conn
    }
}

/// Per-connection settings every Branchline connection needs.
fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch("PRAGMA foreign_keys=ON")?;
    Ok(())
}

fn user_version(conn: &Connection) -> Result<u32, StorageError> {
    let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    u32::try_from(v).map_err(|_| StorageError::BadValue {
        column: "PRAGMA user_version",
        value: v.to_string(),
    })
}

/// Applies every pending migration, each in its own transaction together with its version bump,
/// so a failure leaves the file at the previous version.
fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    migrate_with(conn, MIGRATIONS)
}

fn migrate_with(
    conn: &mut Connection,
    migrations: &[(&'static str, &'static str)],
) -> Result<(), StorageError> {
    // Table rebuilds (the SQLite 12-step procedure, lang_altertable.html §7) need foreign keys
    // off: dropping a parent table would otherwise cascade into its children. The pragma is a
    // no-op inside a transaction, so it is switched here and restored afterwards; each
    // migration runs `foreign_key_check` before it commits instead.
    let fk_on: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA foreign_keys=OFF")?;
    let result = migrate_steps(conn, migrations);
    if fk_on {
        conn.execute_batch("PRAGMA foreign_keys=ON")?;
    }
    result
}

/// Whether any row breaks a foreign key, described for the migration error.
fn foreign_key_violation(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let mut rows = stmt.query([])?;
    match rows.next()? {
        Some(r) => {
            let table: String = r.get(0)?;
            let parent: String = r.get(2)?;
            Ok(Some(format!(
                "a row of {table} references a missing {parent}"
            )))
        }
        None => Ok(None),
    }
}

fn migrate_steps(
    conn: &mut Connection,
    migrations: &[(&'static str, &'static str)],
) -> Result<(), StorageError> {
    let supported = migrations.len() as u32;
    loop {
        // IMMEDIATE takes the write lock before reading the version: two processes starting at
        // once cannot both apply the same migration.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = user_version(&tx)?;
        if current > supported {
            return Err(StorageError::SchemaTooNew {
                found: current,
                supported,
            });
        }
        let Some(&(name, sql)) = migrations.get(current as usize) else {
            return Ok(());
        };
        let version = current + 1;
        let apply = tx
            .execute_batch(sql)
            .and_then(|()| match foreign_key_violation(&tx)? {
                None => Ok(()),
                Some(what) => Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(what),
                )),
            })
            .and_then(|()| tx.execute_batch(&format!("PRAGMA user_version={version}")));
        if let Err(source) = apply {
            return Err(StorageError::Migration {
                version,
                name,
                source,
            });
        }
        tx.commit()?;
        tracing::info!(version, name, "applied schema migration");
    }
}

/// The current UTC time in milliseconds as SQLite computes it, so storage reads no clock itself.
const SQL_NOW_MS: &str = "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_bring_an_in_memory_db_to_the_latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        configure(&conn).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        // Running again is a no-op.
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&format!("PRAGMA user_version={}", SCHEMA_VERSION + 1))
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StorageError::SchemaTooNew { .. })
        ));
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version_and_no_partial_tables() {
        let mut conn = Connection::open_in_memory().unwrap();
        let list: &[(&str, &str)] = &[
            ("one", "CREATE TABLE a (x INTEGER);"),
            ("two", "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;"),
        ];
        let err = migrate_with(&mut conn, list).unwrap_err();
        assert!(
            matches!(err, StorageError::Migration { version: 2, .. }),
            "{err}"
        );
        assert_eq!(user_version(&conn).unwrap(), 1);
        let b_exists: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(b_exists, 0, "table b must have been rolled back");
    }

    #[test]
    fn web_chat_upgrades_existing_users_to_the_default_chat_limit() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..14]).unwrap();
        conn.execute_batch(
            "INSERT INTO extensions (number, sip_password) VALUES ('1001', 'x');
             INSERT INTO users (username, role, password_hash, extension, created_at_ms)
             VALUES ('agent1', 'agent', 'h', '1001', 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        let limit: i64 = conn
            .query_row(
                "SELECT chat_limit FROM users WHERE username = 'agent1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(limit, 3);
        let pool: i64 = conn
            .query_row("SELECT count(*) FROM chat_leave_messages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(pool, 0);
    }

    #[test]
    fn sql_now_is_a_plausible_utc_millisecond_count() {
        let conn = Connection::open_in_memory().unwrap();
        let now: i64 = conn
            .query_row(&format!("SELECT {SQL_NOW_MS}"), [], |r| r.get(0))
            .unwrap();
        // After 2024-01-01 and before 2100-01-01.
        assert!(now > 1_704_067_200_000 && now < 4_102_444_800_000, "{now}");
    }
}
