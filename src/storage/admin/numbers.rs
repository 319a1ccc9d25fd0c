//! Peer trunks (中继, SPEC §2.1 (a): a static host) and the inbound numbers (DID) they deliver.

use std::net::IpAddr;

use rusqlite::{params, Connection, TransactionBehavior};

use super::{digits, exists, ident, invalid, number_free, strings, AdminError};
use crate::storage::{load_pbx_config, DidRow, TrunkRow};

/// Every peer trunk, by name.
pub fn list_trunks(conn: &Connection) -> Result<Vec<TrunkRow>, AdminError> {
    Ok(load_pbx_config(conn)?.trunks)
}

/// Creates or replaces a peer trunk. The host must be an IP address: calls from a trunk are
/// recognised by their source address, and a name would need DNS on the call path. Returns
/// whether it was created.
pub fn save_trunk(conn: &mut Connection, row: &TrunkRow) -> Result<bool, AdminError> {
    ident("name", &row.name)?;
    if row.host.trim().parse::<IpAddr>().is_err() {
        return Err(invalid(
            "host",
            format!("{:?} is not an IP address", row.host),
        ));
    }
    if row.port == 0 {
        return Err(invalid("port", "must be 1..=65535"));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let created = !exists(&tx, "SELECT 1 FROM trunks WHERE name = ?1", &row.name)?;
    tx.execute(
        "INSERT INTO trunks (name, kind, host, port) VALUES (?1, 'peer', ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET host = excluded.host, port = excluded.port",
        params![row.name, row.host.trim(), row.port],
    )?;
    tx.commit()?;
    Ok(created)
}

/// Deletes a trunk, refusing while an outbound route sends calls to it.
pub fn delete_trunk(conn: &mut Connection, name: &str) -> Result<(), AdminError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let routes = strings(
        &tx,
        "SELECT prefix FROM outbound_routes WHERE trunk = ?1 ORDER BY prefix",
        name,
    )?;
    if !routes.is_empty() {
        return Err(AdminError::InUse(format!(
            "trunk {name} is used by outbound route {}",
            routes.join(", ")
        )));
    }
    if tx.execute("DELETE FROM trunks WHERE name = ?1", [name])? == 0 {
        return Err(AdminError::NotFound {
            what: "trunk",
            key: name.to_owned(),
        });
    }
    tx.commit()?;
    Ok(())
}

/// Every DID, by number.
pub fn list_dids(conn: &Connection) -> Result<Vec<DidRow>, AdminError> {
    Ok(load_pbx_config(conn)?.dids)
}

/// Creates or replaces a DID; its target (a skill group, an extension or an IVR flow) must
/// exist. Returns whether it was created.
pub fn save_did(conn: &mut Connection, row: &DidRow) -> Result<bool, AdminError> {
    digits("number", &row.number, 2, 20)?;
    let check = match row.target_kind.as_str() {
        "group" => "SELECT 1 FROM skill_groups WHERE name = ?1",
        "extension" => "SELECT 1 FROM extensions WHERE number = ?1",
        "ivr" => "SELECT 1 FROM ivr_flows WHERE name = ?1",
        other => {
            return Err(invalid(
                "target_kind",
                format!("{other:?} is not group, extension or ivr"),
            ))
        }
    };
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !exists(&tx, check, &row.target)? {
        return Err(invalid(
            "target",
            format!("no {} {:?}", row.target_kind, row.target),
        ));
    }
    number_free(&tx, "number", &row.number, ("DID", &row.number))?;
    let created = !exists(&tx, "SELECT 1 FROM dids WHERE number = ?1", &row.number)?;
    tx.execute(
        "INSERT INTO dids (number, target_kind, target) VALUES (?1, ?2, ?3)
         ON CONFLICT (number) DO UPDATE SET target_kind = excluded.target_kind,
             target = excluded.target",
        params![row.number, row.target_kind, row.target],
    )?;
    tx.commit()?;
    Ok(created)
}

/// Deletes a DID.
pub fn delete_did(conn: &Connection, number: &str) -> Result<(), AdminError> {
    if conn.execute("DELETE FROM dids WHERE number = ?1", [number])? == 0 {
        return Err(AdminError::NotFound {
            what: "DID",
            key: number.to_owned(),
        });
    }
    Ok(())
}
