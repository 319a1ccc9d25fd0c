//! Packaging: the .deb that `packaging/build-deb.sh` makes from the binary this test suite was
//! built with, its maintainer scripts, the systemd unit, the shipped default config and the
//! test runner scripts.
//!
//! The package is built once per test process (see [`package`]); every test reads from it.
//! Needs `dpkg-deb`, `systemd-analyze` and `ldd` (scripts/test.sh installs what is missing).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root (this package's manifest directory).
fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The daemon binary of the profile the tests were built with (release under scripts/test.sh).
fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_branchline"))
}

/// The Debian version build-deb.sh derives from Cargo.toml (`-` becomes `~`).
fn deb_version() -> String {
    env!("CARGO_PKG_VERSION").replace('-', "~")
}

/// Runs a command to completion, failing the test with a useful message if it cannot start.
fn run(cmd: &mut Command) -> Output {
    match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {cmd:?}: {e} (bash scripts/test.sh installs the test tools)"),
    }
}

/// Runs a command that must succeed and returns its stdout.
fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The built package: the .deb, its extracted file tree and its extracted control area.
struct Package {
    deb: PathBuf,
    tree: PathBuf,
    control: PathBuf,
}

/// Builds the package once per test process.
///
/// The fixture lives in `CARGO_TARGET_TMPDIR/packaging-fixture-<pid>` rather than in a
/// `tempfile::TempDir`: a static is never dropped, so a TempDir there would leak one copy of
/// the binary per run. Instead each run sweeps the fixtures of processes that have exited, so
/// at most one copy per concurrent run stays on disk, inside target/.
fn package() -> &'static Package {
    static PACKAGE: OnceLock<Package> = OnceLock::new();
    PACKAGE.get_or_init(build_package)
}

fn build_package() -> Package {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let prefix = "packaging-fixture-";
    if let Ok(entries) = fs::read_dir(tmp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(prefix) {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
    }
    let dir = tmp.join(format!("{prefix}{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create fixture dir");

    let stdout = run_ok(
        Command::new("bash")
            .arg(repo().join("packaging/build-deb.sh"))
            .arg(binary())
            .arg(&dir),
    );
    // The script's only stdout line is the path of the .deb.
    let deb = PathBuf::from(stdout.trim());
    assert_eq!(
        deb,
        dir.join(format!("branchline_{}_amd64.deb", deb_version())),
        "build-deb.sh must print the .deb path and nothing else"
    );
    assert!(deb.is_file(), "{} was not created", deb.display());

    let tree = dir.join("tree");
    let control = dir.join("control");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&tree));
    run_ok(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    Package { deb, tree, control }
}

/// One `dpkg-deb -c` entry: permissions string, owner/group and path (without the leading `.`).
fn contents(deb: &Path) -> Vec<(String, String, String)> {
    run_ok(Command::new("dpkg-deb").arg("-c").arg(deb))
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // perms owner size date time path [-> target]
            let path = fields.get(5)?.trim_start_matches('.').to_string();
            Some((
                fields.first()?.to_string(),
                fields.get(1)?.to_string(),
                path,
            ))
        })
        .collect()
}

#[test]
fn deb_contains_binary_unit_config_and_docs_with_their_modes() {
    let entries = contents(&package().deb);
    let expected = [
        ("/usr/sbin/branchline", "-rwxr-xr-x"),
        ("/lib/systemd/system/branchline.service", "-rw-r--r--"),
        // 0640 in the archive; postinst gives the group to branchline once it exists.
        ("/etc/branchline/branchline.toml", "-rw-r-----"),
        ("/usr/share/doc/branchline/copyright", "-rw-r--r--"),
        ("/usr/share/doc/branchline/README.md", "-rw-r--r--"),
    ];
    for (path, perms) in expected {
        let found = entries.iter().find(|(_, _, p)| p == path);
        let Some((got_perms, owner, _)) = found else {
            panic!("{path} missing from the package: {entries:#?}");
        };
        assert_eq!(got_perms, perms, "mode of {path}");
        assert_eq!(owner, "root/root", "owner of {path}");
    }
    // Nothing else ships except the firmware-config data folder.
    for (perms, owner, path) in &entries {
        assert_eq!(owner, "root/root", "owner of {path}");
        if perms.starts_with('d') {
            // Includes ./ itself: a 0700 staging root would leak into the archive.
            assert_eq!(perms, "drwxr-xr-x", "mode of directory {path}");
            continue;
        }
        assert!(
            expected.iter().any(|(p, _)| p == path)
                || path.starts_with("/usr/share/branchline/firmware-config/"),
            "unexpected file {path} in the package"
        );
    }
}

#[test]
fn deb_ships_the_repository_files_unchanged() {
    let pkg = package();
    let pairs = [
        (
            "systemd/branchline.service",
            "lib/systemd/system/branchline.service",
        ),
        (
            "packaging/branchline.toml",
            "etc/branchline/branchline.toml",
        ),
        ("README.md", "usr/share/doc/branchline/README.md"),
    ];
    for (src, shipped) in pairs {
        let want = fs::read(repo().join(src)).expect("read repository file");
        let got = fs::read(pkg.tree.join(shipped)).expect("read packaged file");
        assert!(want == got, "{shipped} differs from {src}");
    }
    let want = fs::read(binary()).expect("read binary");
    let got = fs::read(pkg.tree.join("usr/sbin/branchline")).expect("read packaged binary");
    assert!(want == got, "packaged binary differs from the built one");
}

#[test]
fn deb_control_fields_name_package_version_and_only_adduser_dependency() {
    let deb = &package().deb;
    let field = |name: &str| run_ok(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name));
    assert_eq!(field("Package").trim(), "branchline");
    assert_eq!(field("Version").trim(), deb_version());
    assert_eq!(field("Architecture").trim(), "amd64");
    assert_eq!(field("Section").trim(), "net");
    assert_eq!(field("Priority").trim(), "optional");
    // Static binary: no libc6 dependency; adduser for the maintainer scripts.
    assert_eq!(field("Depends").trim(), "adduser");
    assert!(
        field("Maintainer").contains('@'),
        "Maintainer needs an address"
    );
    assert!(
        !field("Description").trim().is_empty(),
        "Description is empty"
    );

    let installed_kib: u64 = field("Installed-Size")
        .trim()
        .parse()
        .expect("Installed-Size is a number");
    let binary_kib = fs::metadata(binary()).expect("stat binary").len() / 1024;
    assert!(
        installed_kib > binary_kib,
        "Installed-Size {installed_kib} KiB is smaller than the binary ({binary_kib} KiB)"
    );
}

#[test]
fn deb_declares_the_config_file_as_the_only_conffile() {
    let conffiles =
        fs::read_to_string(package().control.join("conffiles")).expect("read conffiles");
    let lines: Vec<&str> = conffiles.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines, ["/etc/branchline/branchline.toml"]);
}

#[test]
fn maintainer_scripts_are_executable_posix_sh_with_set_e() {
    for script in ["postinst", "prerm", "postrm"] {
        let path = package().control.join(script);
        let text = fs::read_to_string(&path).expect("read maintainer script");
        let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o755, "mode of {script}");
        assert!(
            text.starts_with("#!/bin/sh\n"),
            "{script} must be a POSIX sh script"
        );
        assert!(
            text.lines().any(|l| l.trim() == "set -e"),
            "{script} must `set -e`"
        );
        // Debian's /bin/sh is dash, so this also rejects bash-only syntax.
        run_ok(Command::new("sh").arg("-n").arg(&path));
    }
}

#[test]
fn postinst_creates_the_service_user_and_names_the_initial_password_file() {
    let text = fs::read_to_string(package().control.join("postinst")).expect("read postinst");
    assert!(text.contains("adduser --quiet --system --group --home \"$DATA_DIR\""));
    assert!(text.contains("--no-create-home"));
    assert!(text.contains("DATA_DIR=/var/lib/branchline"));
    assert!(text.contains("/var/lib/branchline/initial-admin-password (mode 0600"));
    assert!(text.contains("chmod 0750 \"$DATA_DIR\""));
    assert!(text.contains("for group in dialout audio"));
    // Starting the unit only makes sense when systemd is the running init.
    assert!(text.contains("if [ -d /run/systemd/system ]; then"));

    let postrm = fs::read_to_string(package().control.join("postrm")).expect("read postrm");
    assert!(postrm.contains("rm -rf /var/lib/branchline /etc/branchline"));
    assert!(postrm.contains("deluser --quiet --system \"$USER_NAME\""));
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    // Why not `systemd-analyze verify --root=<package tree>`: systemd 252 then resolves every
    // dependency inside that root, and the package tree has no sysinit.target or
    // multi-user.target, so verify fails for reasons that are not ours. Instead verify a copy
    // of the shipped unit whose ExecStart points at the binary extracted from the package
    // (verify checks that the ExecStart path exists and is executable); every other line is
    // byte-for-byte the shipped unit. This works without systemd running as PID 1.
    let pkg = package();
    let shipped = fs::read_to_string(pkg.tree.join("lib/systemd/system/branchline.service"))
        .expect("read packaged unit");
    let binary = pkg.tree.join("usr/sbin/branchline");
    let original = "ExecStart=/usr/sbin/branchline ";
    assert!(
        shipped.contains(original),
        "unit ExecStart changed: {shipped}"
    );
    let patched = shipped.replace(original, &format!("ExecStart={} ", binary.display()));

    let scratch = tempfile::tempdir().expect("tempdir");
    let unit = scratch.path().join("branchline.service");
    fs::write(&unit, patched).expect("write unit copy");
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .current_dir(scratch.path()));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{report}"
    );
    let ours: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("branchline"))
        .collect();
    assert!(
        ours.is_empty(),
        "warnings for branchline.service:\n{report}"
    );
}

/// The `Key=value` settings of a unit file, comments and section headers skipped.
fn unit_settings(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn unit_is_notify_type_with_watchdog_dedicated_user_and_hardening() {
    let text = fs::read_to_string(repo().join("systemd/branchline.service")).expect("read unit");
    let settings = unit_settings(&text);
    let get = |key: &str| {
        settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{key}= missing from the unit"))
    };
    assert_eq!(get("Type"), "notify");
    assert_eq!(get("NotifyAccess"), "main");
    assert_eq!(
        get("ExecStart"),
        "/usr/sbin/branchline serve --config /etc/branchline/branchline.toml"
    );
    assert_eq!(get("WatchdogSec"), "30s");
    assert_eq!(get("Restart"), "on-failure");
    assert_eq!(get("User"), "branchline");
    assert_eq!(get("Group"), "branchline");
    assert_eq!(get("SupplementaryGroups"), "dialout audio");
    assert_eq!(get("StateDirectory"), "branchline");
    assert_eq!(get("StateDirectoryMode"), "0750");
    assert_eq!(get("ConfigurationDirectory"), "branchline");
    assert_eq!(get("ProtectSystem"), "strict");
    assert_eq!(get("ProtectHome"), "yes");
    assert_eq!(get("PrivateTmp"), "yes");
    assert_eq!(get("NoNewPrivileges"), "yes");
    assert_eq!(get("CapabilityBoundingSet"), "CAP_NET_BIND_SERVICE");
    assert_eq!(get("AmbientCapabilities"), "CAP_NET_BIND_SERVICE");
    assert_eq!(
        get("RestrictAddressFamilies"),
        "AF_INET AF_INET6 AF_UNIX AF_NETLINK"
    );
    assert_eq!(get("SystemCallFilter"), "@system-service");
    assert_eq!(get("MemoryDenyWriteExecute"), "yes");
    assert_eq!(get("LimitNOFILE"), "65536");
    assert_eq!(get("WantedBy"), "multi-user.target");
    // Device access for modems and sound cards must not be cut off.
    for key in [
        "PrivateDevices",
        "ProtectClock",
        "DevicePolicy",
        "DeviceAllow",
    ] {
        assert!(
            !settings.iter().any(|(k, _)| k == key),
            "{key}= would hide /dev/ttyUSB* and /dev/snd from the daemon"
        );
    }

    // The stop timeout must cover the graceful drain configured in the default config.
    let stop_secs: u64 = get("TimeoutStopSec")
        .trim_end_matches('s')
        .parse()
        .expect("TimeoutStopSec in seconds");
    let grace = default_config()
        .get("shutdown")
        .and_then(|t| t.get("grace_secs"))
        .and_then(toml::Value::as_integer)
        .expect("shutdown.grace_secs");
    assert!(
        i64::try_from(stop_secs).expect("small") > grace,
        "TimeoutStopSec={stop_secs}s must exceed shutdown.grace_secs={grace}"
    );
}

#[test]
fn release_binary_is_statically_linked() {
    // The crate always builds for the explicit x86_64-unknown-linux-gnu target with
    // +crt-static (.cargo/config.toml), in every profile, so this is asserted, never skipped.
    let out = run(Command::new("ldd").arg(binary()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("not a dynamic executable") || text.contains("statically linked"),
        "{} is dynamically linked; ldd says:\n{text}",
        binary().display()
    );
}

#[test]
fn build_script_refuses_a_missing_or_dynamic_binary() {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let script = repo().join("packaging/build-deb.sh");

    let missing = run(Command::new("bash")
        .arg(&script)
        .arg(out_dir.path().join("no-such-binary"))
        .arg(out_dir.path()));
    assert!(!missing.status.success(), "a missing binary must fail");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));

    // /bin/sh is dynamically linked on every Debian system.
    let dynamic = run(Command::new("bash")
        .arg(&script)
        .arg("/bin/sh")
        .arg(out_dir.path()));
    assert!(!dynamic.status.success(), "a dynamic binary must fail");
    assert!(String::from_utf8_lossy(&dynamic.stderr).contains("dynamically linked"));

    let leftovers: Vec<_> = fs::read_dir(out_dir.path())
        .expect("read out dir")
        .collect();
    assert!(
        leftovers.is_empty(),
        "a refused build must not leave a .deb"
    );
}

/// The shipped default config, parsed.
fn default_config() -> toml::Table {
    let text =
        fs::read_to_string(repo().join("packaging/branchline.toml")).expect("read default config");
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("packaging/branchline.toml is not TOML: {e}"))
}

/// Dotted paths of every leaf key in a table (`sip.listen`, `data_dir`, ...).
fn leaf_keys(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => leaf_keys(inner, &format!("{path}."), out),
            _ => {
                out.insert(path);
            }
        }
    }
}

#[test]
fn default_config_has_exactly_the_documented_bootstrap_keys() {
    let config = default_config();
    let mut keys = BTreeSet::new();
    leaf_keys(&config, "", &mut keys);
    let documented: BTreeSet<String> = [
        "data_dir",
        "time_zone",
        "sip.listen",
        "sip.public_address",
        "rtp.ports",
        "http.listen",
        "log.level",
        "shutdown.grace_secs",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(keys, documented);

    // SPEC §1 defaults.
    let text = |v: Option<&toml::Value>| v.and_then(toml::Value::as_str).map(str::to_string);
    let section = |name: &str, key: &str| config.get(name).and_then(|t| t.get(key)).cloned();
    assert_eq!(
        text(config.get("data_dir")).as_deref(),
        Some("/var/lib/branchline")
    );
    assert_eq!(
        text(config.get("time_zone")).as_deref(),
        Some("Asia/Shanghai")
    );
    let listen: Vec<String> = section("sip", "listen")
        .and_then(|v| v.as_array().cloned())
        .expect("sip.listen is an array")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(listen, ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]);
    assert_eq!(
        text(section("sip", "public_address").as_ref()).as_deref(),
        Some("auto")
    );
    assert_eq!(
        text(section("rtp", "ports").as_ref()).as_deref(),
        Some("20000-29999")
    );
    assert_eq!(
        text(section("http", "listen").as_ref()).as_deref(),
        Some("0.0.0.0:8080")
    );
    assert_eq!(
        text(section("log", "level").as_ref()).as_deref(),
        Some("info")
    );
    assert_eq!(
        section("shutdown", "grace_secs").and_then(|v| v.as_integer()),
        Some(30)
    );
}

#[test]
fn default_config_explains_every_key_in_a_comment() {
    let text =
        fs::read_to_string(repo().join("packaging/branchline.toml")).expect("read default config");
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
            continue;
        }
        let previous = lines[..i].iter().rev().find(|l| !l.is_empty());
        assert!(
            previous.is_some_and(|l| l.starts_with('#')),
            "key line {} has no comment above it: {line}",
            i + 1
        );
    }
}

#[test]
fn test_runner_and_ci_entry_are_valid_executable_bash() {
    // Both are bash scripts (`#!/usr/bin/env bash`, arrays, pipefail), so their syntax is
    // checked with `bash -n`; `sh -n` (dash) would reject valid bash.
    for script in ["scripts/test.sh", ".ci/run"] {
        let path = repo().join(script);
        let text = fs::read_to_string(&path).expect("read script");
        assert!(
            text.starts_with("#!/usr/bin/env bash\n"),
            "{script} shebang"
        );
        assert!(
            text.lines().any(|l| l.trim() == "set -euo pipefail"),
            "{script} must `set -euo pipefail`"
        );
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert!(mode & 0o111 != 0, "{script} is not executable");
        run_ok(Command::new("bash").arg("-n").arg(&path));
    }
    let ci = fs::read_to_string(repo().join(".ci/run")).expect("read .ci/run");
    assert!(
        ci.contains("exec bash scripts/test.sh"),
        ".ci/run must run scripts/test.sh"
    );
}
