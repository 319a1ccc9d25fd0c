-- Departments (部门, SPEC §12 supervisor scope; seed 003: 监控总览/客服统计按部门做数据隔离).
-- A department is a named unit of agents; each user belongs to at most one (users.department),
-- and a supervisor may be assigned departments (user_departments, like 0007's user_groups):
-- their scope then takes in the extensions of the department's users.
CREATE TABLE departments (
    name         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT ''
);

-- ALTER TABLE ADD COLUMN may carry a REFERENCES clause when the default is NULL
-- (https://www.sqlite.org/lang_altertable.html §5), so no table rebuild is needed. The API
-- refuses to delete a department that still has users or supervisors (HTTP 409); SET NULL is
-- the backstop for any other writer, so no user points at a missing department.
ALTER TABLE users ADD COLUMN department TEXT
    REFERENCES departments (name) ON DELETE SET NULL;
CREATE INDEX users_by_department ON users (department);

CREATE TABLE user_departments (
    username   TEXT NOT NULL REFERENCES users (username) ON DELETE CASCADE,
    department TEXT NOT NULL REFERENCES departments (name) ON DELETE CASCADE,
    PRIMARY KEY (username, department)
);
