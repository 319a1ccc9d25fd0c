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
    seed_crm_demo(&tx)?;
    tx.commit()?;
    tracing::info!("seeded the demo profile");
    Ok(true)
}

/// The demo's CRM data (SPEC §5, §8): customer fields 会员等级 (select) and 城市 (text), two
/// customers (张伟 at 13800138000, the number the SIPp trunk tests call from), ticket types
/// 咨询 and 投诉 with their processing nodes and SLA, and a small service-category tree.
fn seed_crm_demo(tx: &Connection) -> Result<(), StorageError> {
    tx.execute_batch(
        r#"INSERT INTO field_defs (scope, key, label_zh, label_en, kind, options, required, position) VALUES
             ('customer', 'level', '会员等级', 'Membership level', 'select', '["普通","银卡","金卡"]', 0, 0),
             ('customer', 'city', '城市', 'City', 'text', '[]', 0, 1),
             ('summary', 'resolved', '是否解决', 'Resolved', 'select', '["已解决","未解决"]', 0, 0);
           INSERT INTO ticket_types (name, sla_hours, nodes, position) VALUES
             ('咨询', 24, '["一级处理","二级处理"]', 0),
             ('投诉', 48, '["一级处理","二级处理","三级处理"]', 1);
           INSERT INTO summary_categories (id, parent_id, name, position) VALUES
             (1, NULL, '咨询', 0), (2, 1, '产品咨询', 0), (3, 1, '价格咨询', 1),
             (4, NULL, '投诉', 1), (5, 4, '服务投诉', 0), (6, 4, '质量投诉', 1),
             (7, NULL, '售后', 2);"#,
    )?;
    // Name, custom values (JSON), company, phones as (number, lookup key).
    type DemoCustomer = (
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    );
    let customers: &[DemoCustomer] = &[
        (
            "张伟",
            "{\"level\":\"金卡\",\"city\":\"北京\"}",
            "北京星辰科技有限公司",
            &[
                ("13800138000", "13800138000"),
                ("01065529988", "01065529988"),
            ],
        ),
        (
            "李娜",
            "{\"level\":\"普通\",\"city\":\"上海\"}",
            "",
            &[("13912345678", "13912345678")],
        ),
    ];
    for &(name, fields, company, phones) in customers {
        tx.execute(
            &format!(
                "INSERT INTO customers (name, company, notes, fields, created_by, created_at_ms, updated_at_ms) \
                 VALUES (?1, ?2, '', ?3, 'admin', {SQL_NOW_MS}, {SQL_NOW_MS})"
            ),
            params![name, company, fields],
        )?;
        let id = tx.last_insert_rowid();
        for (pos, &(number, key)) in phones.iter().enumerate() {
            tx.execute(
                "INSERT INTO customer_phones (customer_id, position, number, match_key) VALUES (?1, ?2, ?3, ?4)",
                params![id, pos as i64, number, key],
            )?;
        }
    }
    Ok(())
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
    fn demo_crm_data_is_valid_for_the_crm_rules() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::storage::migrate(&mut conn).unwrap();
        seed_crm_demo(&conn).unwrap();
        let defs =
            super::super::crm::load_field_defs(&conn, super::super::crm::FieldScope::Customer)
                .unwrap();
        let mut again = defs.clone();
        super::super::crm::validate_field_defs(&mut again).unwrap();
        assert_eq!(again, defs);
        let found = super::super::crm::find_by_phone(&conn, "+86 138 0013 8000").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "张伟");
        super::super::crm::validate_values(&defs, &found[0].fields).unwrap();
        let types = super::super::tickets::load_ticket_types(&conn).unwrap();
        assert_eq!(types.len(), 2);
        let tree = super::super::summaries::load_categories(&conn).unwrap();
        assert_eq!(tree.len(), 3);
        assert_eq!(tree[0].children.len(), 2);
    }

    #[test]
    fn random_passwords_are_long_unambiguous_and_different() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 20);
        assert_ne!(a, b);
        assert!(!a.contains(['0', 'O', '1', 'I', 'l']), "{a}");
    }
}
