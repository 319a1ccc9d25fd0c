//! Departments (部门, migration 0014) as the admin edits them: a named unit of agents. Each user
//! belongs to at most one (`users.department`); supervisors may be assigned departments
//! (`user_departments`) and then see the agents of those departments (SPEC §12 data isolation,
//! seed 003: 按部门做数据权限隔离).

use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{exists, ident, strings, text, AdminError};

/// A department as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentView {
    /// Key (letters, digits, `_`, `-`, `.`), used in paths and the report filter.
    pub name: String,
    /// Name shown in the panel (may be Chinese).
    pub display_name: String,
    /// How many users belong to it.
    pub members: u32,
    /// Usernames of the supervisors assigned to it.
    pub supervisors: Vec<String>,
}

/// The body of `PUT /api/departments/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentInput {
    /// Name shown in the panel.
    #[serde(default)]
    pub display_name: String,
}

/// Every department, by name, with its member count and assigned supervisors.
pub fn list_departments(conn: &Connection) -> Result<Vec<DepartmentView>, AdminError> {
    let mut stmt = conn.prepare(
        "SELECT d.name, d.display_name,
                (SELECT count(*) FROM users u WHERE u.department = d.name)
         FROM departments d ORDER BY d.name",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, u32>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (name, display_name, members) in rows {
        let supervisors = strings(
            conn,
            "SELECT username FROM user_departments WHERE department = ?1 ORDER BY username",
            &name,
        )?;
        out.push(DepartmentView {
            name,
            display_name,
            members,
            supervisors,
        });
    }
    Ok(out)
}

/// Creates or renames (its display name) department `name`. Returns the stored view and whether
/// it was created.
pub fn save_department(
    conn: &mut Connection,
    name: &str,
    input: &DepartmentInput,
) -> Result<(DepartmentView, bool), AdminError> {
    ident("name", name)?;
    text("display_name", &input.display_name, 64)?;
    let display_name = input.display_name.trim();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let created = !exists(&tx, "SELECT 1 FROM departments WHERE name = ?1", name)?;
    tx.execute(
        "INSERT INTO departments (name, display_name) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name",
        params![name, display_name],
    )?;
    tx.commit()?;
    let view = list_departments(conn)?
        .into_iter()
        .find(|d| d.name == name)
        .ok_or_else(|| AdminError::NotFound {
            what: "department",
            key: name.to_owned(),
        })?;
    Ok((view, created))
}

/// Deletes department `name`, refusing (409) while users belong to it or supervisors are
/// assigned to it: removing a supervisor's last department would silently widen their scope to
/// the whole centre (a supervisor with nothing assigned sees everything), and dropping agents
/// out of a department would move them out of their supervisor's sight unannounced.
pub fn delete_department(conn: &mut Connection, name: &str) -> Result<(), AdminError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !exists(&tx, "SELECT 1 FROM departments WHERE name = ?1", name)? {
        return Err(AdminError::NotFound {
            what: "department",
            key: name.to_owned(),
        });
    }
    let users = strings(
        &tx,
        "SELECT username FROM users WHERE department = ?1 ORDER BY username",
        name,
    )?;
    if !users.is_empty() {
        return Err(AdminError::InUse(format!(
            "department {name} still has users: {}",
            users.join(", ")
        )));
    }
    let supervisors = strings(
        &tx,
        "SELECT username FROM user_departments WHERE department = ?1 ORDER BY username",
        name,
    )?;
    if !supervisors.is_empty() {
        return Err(AdminError::InUse(format!(
            "department {name} is assigned to supervisor {}",
            supervisors.join(", ")
        )));
    }
    tx.execute("DELETE FROM departments WHERE name = ?1", [name])?;
    tx.commit()?;
    Ok(())
}

/// The extensions of the users in `department` (the report's `department=` filter), or
/// `None` when no such department exists.
pub fn department_extensions(
    conn: &Connection,
    department: &str,
) -> Result<Option<Vec<String>>, AdminError> {
    if !exists(
        conn,
        "SELECT 1 FROM departments WHERE name = ?1",
        department,
    )? {
        return Ok(None);
    }
    Ok(Some(strings(
        conn,
        "SELECT extension FROM users
         WHERE department = ?1 AND extension IS NOT NULL AND extension <> ''
         ORDER BY extension",
        department,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::admin::{list_users, save_user_with, DepartmentChoice, UserInput};
    use crate::storage::Db;

    fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("d.db")).unwrap();
        (dir, db)
    }

    /// Saves user `name` with `role`, department and supervised departments.
    fn put(
        db: &mut Db,
        name: &str,
        role: &str,
        department: Option<&str>,
        departments: &[&str],
    ) -> Result<(crate::storage::admin::UserView, bool), AdminError> {
        let input = UserInput {
            display_name: "X".into(),
            role: role.into(),
            extension: None,
            password: Some("long enough pw".into()),
            groups: vec![],
        };
        let choice = DepartmentChoice {
            department: Some(department.map(Into::into)),
            departments: Some(departments.iter().map(|d| d.to_string()).collect()),
            ..Default::default()
        };
        save_user_with(db.conn_mut(), name, &input, &choice)
    }

    fn dept(name: &str) -> DepartmentInput {
        DepartmentInput {
            display_name: format!("{name} 部"),
        }
    }

    #[test]
    fn a_department_is_created_renamed_and_counts_its_members() {
        let (_d, mut db) = db();
        let (v, created) = save_department(db.conn_mut(), "sales", &dept("sales")).unwrap();
        assert!(created && v.members == 0 && v.display_name == "sales 部");
        let (v, created) = save_department(
            db.conn_mut(),
            "sales",
            &DepartmentInput {
                display_name: "销售部".into(),
            },
        )
        .unwrap();
        assert!(!created);
        assert_eq!(v.display_name, "销售部");
        put(&mut db, "amy", "agent", Some("sales"), &[]).unwrap();
        let list = list_departments(db.conn()).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].members, 1);
        let amy = list_users(db.conn())
            .unwrap()
            .into_iter()
            .find(|u| u.username == "amy")
            .unwrap();
        assert_eq!(amy.department.as_deref(), Some("sales"));
    }

    #[test]
    fn bad_names_and_unknown_departments_are_refused_naming_the_field() {
        let (_d, mut db) = db();
        let e = save_department(db.conn_mut(), "bad name", &dept("x")).unwrap_err();
        assert!(matches!(e, AdminError::Invalid { ref field, .. } if field == "name"));
        let e = put(&mut db, "amy", "agent", Some("nope"), &[]).unwrap_err();
        assert!(matches!(e, AdminError::Invalid { ref field, .. } if field == "department"));
        save_department(db.conn_mut(), "sales", &dept("sales")).unwrap();
        let e = put(&mut db, "amy", "agent", None, &["sales"]).unwrap_err();
        assert!(matches!(e, AdminError::Invalid { ref field, .. } if field == "departments"));
        let e = put(&mut db, "sam", "supervisor", None, &["nope"]).unwrap_err();
        assert!(matches!(e, AdminError::Invalid { ref field, .. } if field == "departments"));
    }

    #[test]
    fn a_department_with_users_or_supervisors_is_not_deleted() {
        let (_d, mut db) = db();
        save_department(db.conn_mut(), "sales", &dept("sales")).unwrap();
        put(&mut db, "amy", "agent", Some("sales"), &[]).unwrap();
        put(&mut db, "sam", "supervisor", None, &["sales"]).unwrap();
        assert!(matches!(
            delete_department(db.conn_mut(), "sales"),
            Err(AdminError::InUse(m)) if m.contains("amy")
        ));
        put(&mut db, "amy", "agent", None, &[]).unwrap();
        assert!(matches!(
            delete_department(db.conn_mut(), "sales"),
            Err(AdminError::InUse(m)) if m.contains("sam")
        ));
        put(&mut db, "sam", "supervisor", None, &[]).unwrap();
        delete_department(db.conn_mut(), "sales").unwrap();
        assert!(list_departments(db.conn()).unwrap().is_empty());
        assert!(matches!(
            delete_department(db.conn_mut(), "sales"),
            Err(AdminError::NotFound { .. })
        ));
    }

    #[test]
    fn migration_0014_applies_on_a_database_at_version_13_keeping_its_users() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before = &crate::storage::MIGRATIONS[..13];
        crate::storage::migrate_with(&mut conn, before).unwrap();
        conn.execute(
            "INSERT INTO users (username, role, password_hash, created_at_ms)
             VALUES ('old', 'agent', 'x', 1)",
            [],
        )
        .unwrap();
        crate::storage::migrate_with(&mut conn, crate::storage::MIGRATIONS).unwrap();
        let dept: Option<String> = conn
            .query_row(
                "SELECT department FROM users WHERE username = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(dept, None);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master
                 WHERE name IN ('departments', 'user_departments')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 2);
    }
}
