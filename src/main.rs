//! The `branchline` command line.

fn main() {
    println!("branchline {}", env!("CARGO_PKG_VERSION"));
}
