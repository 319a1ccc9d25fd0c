//! First-start data: the fixed demo profile (SPEC §14) and, outside demo mode, a single
//! administrator with a random password (SPEC §1: never a fixed default password).

use rusqlite::{params, Connection, TransactionBehavior};

use super::users::{hash_password, Role};
use super::{StorageError, SQL_NOW_MS};

/// The demo's web users: username, display name, role, password, extension.
const DEMO_USERS: &[(&str, &str, Role, &str, Option<&str>)] = &[
    ("admin", "Administrator", Role::Admin, "admin", None),
    ("agent1", "Agent 1", Role::Agent, "agent", Some("1001")),
    ("agent2", "Agent 2", Role::Agent, "agent", Some("1002")),
    ("agent3", "Agent 3", Role::Agent, "agent", Some("1003")),
    ("agent4", "Agent 4", Role::Agent, "agent", Some("1004")),
    // The supervisor's desk phone, for monitoring feature codes (*31/*32/*33 + extension).
    (
        "super",
        "Supervisor",
        Role::Supervisor,
        "super",
        Some("1010"),
    ),
];

/// The demo skill groups: name, queue number, member extensions.
const DEMO_GROUPS: &[(&str, &str, &[&str])] = &[
    ("support", "6000", &["1001", "1002"]),
    ("sales", "6001", &["1003", "1004"]),
];

/// Ring timeout of the demo groups (seconds).
const DEMO_RING_TIMEOUT_SECS: u32 = 15;
/// Longest queue wait of the demo groups before overflow (seconds): none, so a demo box never
/// drops a waiting caller by itself (the overflow target of a limit is the admin's choice).
const DEMO_MAX_WAIT_SECS: u32 = 0;

/// Seeds the demo profile of SPEC §14 in one transaction if the database has no users.
/// Returns whether it seeded.
pub fn seed_demo(conn: &mut Connection) -> Result<bool, StorageError> {
    if has_users(conn)? {
        return Ok(false);
    }
    // Hash before taking the write lock: argon2 is slow by design.
    let mut hashed = Vec::with_capacity(DEMO_USERS.len());
    for &(username, display, role, password, ext) in DEMO_USERS {
        hashed.push((username, display, role, hash_password(password)?, ext));
    }

    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if has_users(&tx)? {
        return Ok(false); // another process seeded meanwhile
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('sip.realm', 'branchline')
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [],
    )?;
    for n in 1001..=1010u32 {
        let display = match n {
            1001..=1004 => format!("Agent {}", n - 1000),
            _ => format!("Extension {n}"),
        };
        tx.execute(
            "INSERT INTO extensions (number, sip_password, display_name) VALUES (?1, ?2, ?3)",
            params![n.to_string(), format!("pass{n}"), display],
        )?;
    }
    for (username, display, role, hash, ext) in &hashed {
        tx.execute(
            &format!(
                "INSERT INTO users (username, display_name, role, password_hash, extension, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, {SQL_NOW_MS})"
            ),
            params![username, display, role.as_str(), hash, ext],
        )?;
    }
    for &(name, number, members) in DEMO_GROUPS {
        tx.execute(
            "INSERT INTO skill_groups (name, number, strategy, ring_timeout_secs, record, max_wait_secs)
             VALUES (?1, ?2, 'longest-idle', ?3, 1, ?4)",
            params![name, number, DEMO_RING_TIMEOUT_SECS, DEMO_MAX_WAIT_SECS],
        )?;
        for ext in members {
            tx.execute(
                "INSERT INTO skill_group_members (group_name, extension, priority) VALUES (?1, ?2, 1)",
                params![name, ext],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO trunks (name, kind, host, port) VALUES ('pstn', 'peer', '127.0.0.1', 5080)",
        [],
    )?;
    tx.execute(
        "INSERT INTO dids (number, target_kind, target) VALUES ('4000', 'ivr', 'main'), ('4001', 'group', 'support'), ('7000', 'ivr', 'main')",
        [],
    )?;
    tx.execute(
        "INSERT INTO outbound_routes (prefix, strip, trunk, deny, min_digits, max_digits) \
         VALUES ('9', 1, 'pstn', '00', 3, 20)",
        [],
    )?;
    tx.commit()?;
    tracing::info!("seeded the demo profile");
    Ok(true)
}

/// Creates user `admin` with a random password if the database has no users, and returns the
/// password so the daemon can write it (mode 0600) into the data directory.
pub fn seed_initial_admin(conn: &mut Connection) -> Result<Option<String>, StorageError> {
    if has_users(conn)? {
        return Ok(None);
    }
    let password = random_password()?;
    let hash = hash_password(&password)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if has_users(&tx)? {
        return Ok(None);
    }
    tx.execute(
        &format!(
            "INSERT INTO users (username, display_name, role, password_hash, extension, created_at_ms)
             VALUES ('admin', 'Administrator', 'admin', ?1, NULL, {SQL_NOW_MS})"
        ),
        [hash],
    )?;
    tx.commit()?;
    Ok(Some(password))
}

fn has_users(conn: &Connection) -> Result<bool, StorageError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
    Ok(n > 0)
}

/// 20 characters from a 32-symbol alphabet without look-alikes (0/O, 1/I/l): 100 bits.
fn random_password() -> Result<String, StorageError> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes).map_err(|e| StorageError::Random(e.to_string()))?;
    // 256 is a multiple of 32, so taking the low five bits is unbiased.
    Ok(bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_passwords_are_long_unambiguous_and_different() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(!a.contains(['0', 'O', '1', 'I', 'l']), "{a}");
    }
}
