//! DESIGN.md: `src/core/` is sans-IO. Its files must not reach for the runtime, sockets, the
//! filesystem or the clocks; time and randomness come in as arguments. This test fails the
//! build of any change that breaks the rule, naming the file and line.

use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "tokio",
    "std::net::UdpSocket",
    "std::net::TcpStream",
    "std::net::TcpListener",
    "UdpSocket",
    "TcpStream",
    "std::fs",
    "std::thread",
    "Instant::now",
    "SystemTime::now",
    "rusqlite",
    "tiny_http",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_modules_do_no_io_and_read_no_clock() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 10,
        "expected the core sources under {}",
        root.display()
    );
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    offences.push(format!("{}:{}: `{}`", file.display(), n + 1, word));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "sans-IO rule broken:\n{}",
        offences.join("\n")
    );
}
