//! First start outside demo mode (SPEC §1: "never a fixed default password outside demo"):
//! an empty data dir gets a random admin password in a 0600 file, that password logs in, the
//! demo's fixed passwords do not, and a second start leaves the file alone.
// The shared harness reads real clocks for its deadlines.
#![allow(clippy::disallowed_methods)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

mod common;
use common::{request, Daemon, DaemonOpts, Workdir, BASIC_ADMIN};

const PASSWORD_FILE: &str = "initial-admin-password";

fn start_plain(w: &Workdir) -> Daemon {
    Daemon::start_with(
        w,
        &DaemonOpts {
            no_demo: true,
            ..DaemonOpts::default()
        },
    )
}

fn read_password(data: &Path) -> String {
    let path = data.join(PASSWORD_FILE);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

fn login(d: &Daemon, username: &str, password: &str) -> u16 {
    let body = json!({"username": username, "password": password}).to_string();
    request(
        d.http(),
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .status
}

#[test]
fn a_fresh_data_dir_gets_a_random_admin_password_in_a_private_file_that_survives_restarts() {
    let w = Workdir::new();
    let mut d = start_plain(&w);
    let path = d.data.join(PASSWORD_FILE);
    let meta = std::fs::metadata(&path).expect("the password file is written on first start");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "only the daemon's user may read the initial password"
    );
    let password = read_password(&d.data);
    assert!(password.len() >= 16, "password too short: {password:?}");
    assert_ne!(password, "admin");

    // The written password logs in; the demo profile's fixed ones do not exist here.
    assert_eq!(login(&d, "admin", &password), 200, "{}", d.log());
    assert_eq!(login(&d, "admin", "admin"), 401);
    assert_eq!(login(&d, "super", "super"), 401);
    assert_eq!(login(&d, "agent1", "agent"), 401);
    let basic = request(
        d.http(),
        "GET",
        "/api/calls",
        &[("Authorization", BASIC_ADMIN)],
        b"",
    );
    assert_eq!(basic.status, 401, "Basic admin:admin must be refused");
    assert!(
        !d.log().contains("demo profile"),
        "no demo profile outside --demo"
    );

    // A second start finds the admin and leaves the file as it was.
    let modified = meta.modified().expect("mtime");
    d.signal(libc::SIGTERM);
    assert!(
        d.wait_exit(Duration::from_secs(15)).is_some(),
        "daemon stops"
    );
    d.restart();
    let again = std::fs::metadata(&path).expect("the file is still there");
    assert_eq!(again.modified().expect("mtime"), modified, "file rewritten");
    assert_eq!(again.permissions().mode() & 0o777, 0o600);
    assert_eq!(read_password(&d.data), password);
    assert_eq!(login(&d, "admin", &password), 200);

    // Another box gets another password: it is random, not derived from anything fixed.
    let w2 = Workdir::new();
    let d2 = start_plain(&w2);
    assert_ne!(read_password(&d2.data), password);
}
