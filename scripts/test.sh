#!/usr/bin/env bash
# The whole Branchline test suite, as CI runs it: `bash scripts/test.sh` from anywhere.
#
# 1. installs the tools the interop, packaging and browser tests drive, only those that are
#    missing (sipp, baresip, sox, espeak-ng, dpkg-dev, systemd-analyze, chromium, Node.js with
#    npm, a CJK font for legible screenshots), so a prepared machine starts at once; the browser
#    tests (tests/browser.rs) install their Playwright client (`playwright-core@1`, npm) into
#    target/browser-node themselves on first run and save screenshots in target/screenshots;
# 2. cargo fmt --check;
# 3. cargo clippy --all-targets --release -- -D warnings;
# 4. cargo test --release. Release, so clippy, the tests (which also build the .deb from the
#    test binary and check it is static), the benches' compile and a later
#    `packaging/build-deb.sh` all share one optimised build.
# Extra arguments go to `cargo test` (e.g. `bash scripts/test.sh --test packaging`).
# Every step runs even if an earlier one failed; the summary lists each with its time and the
# exit status is non-zero if any failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ "${CI:-}" = "true" ]; then
    export CARGO_TERM_COLOR=never
fi
export DEBIAN_FRONTEND=noninteractive

# tool on PATH -> Debian package that provides it.
TOOLS="sipp:sip-tester baresip:baresip-core sox:sox espeak-ng:espeak-ng dpkg-architecture:dpkg-dev systemd-analyze:systemd chromium:chromium node:nodejs npm:npm"
# Packages without a command of their own, checked with dpkg: the panel's zh-CN labels in the
# browser tests' screenshots need a CJK font.
PACKAGES="fonts-wqy-zenhei"

install_missing_tools() {
    local missing=() entry tool package
    for entry in $TOOLS; do
        tool=${entry%%:*}
        package=${entry#*:}
        if ! command -v "$tool" >/dev/null 2>&1; then
            missing+=("$package")
        fi
    done
    for package in $PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "test.sh: test tools present (sipp, baresip, sox, espeak-ng, dpkg-dev, systemd-analyze, chromium, node, npm, CJK font)"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
        else
            echo "test.sh: missing packages ${missing[*]}; run as root or install them" >&2
            return 1
        fi
    fi
    echo "test.sh: installing ${missing[*]}"
    # `|| return 1`: run_step calls this inside `if`, where set -e does not apply.
    "${sudo[@]}" apt-get update || return 1
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}" || return 1
}

ensure_rust_components() {
    command -v cargo >/dev/null 2>&1 || {
        echo "test.sh: cargo not found; install a Rust toolchain with rustup (https://rustup.rs)" >&2
        return 1
    }
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        command -v rustup >/dev/null 2>&1 || {
            echo "test.sh: rustfmt/clippy missing and rustup not found" >&2
            return 1
        }
        rustup component add rustfmt clippy || return 1
    fi
}

STEPS=()
FAILED=0

# run_step NAME COMMAND...: run, time and record one step without stopping the script.
run_step() {
    local name=$1 start status
    shift
    echo
    echo "=== $name: $*"
    start=$(date +%s)
    if "$@"; then status=ok; else status=FAILED; FAILED=1; fi
    STEPS+=("$(printf '%-8s %-10s %5ss' "$status" "$name" "$(($(date +%s) - start))")")
}

run_step tools install_missing_tools
run_step toolchain ensure_rust_components
run_step fmt cargo fmt --check
run_step clippy cargo clippy --all-targets --release -- -D warnings
run_step test cargo test --release "$@"

echo
echo "=== summary (repo $(pwd))"
for line in "${STEPS[@]}"; do
    echo "  $line"
done
if [ "$FAILED" -ne 0 ]; then
    echo "test.sh: FAILED"
    exit 1
fi
echo "test.sh: all steps passed"
