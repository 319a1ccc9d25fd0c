#!/usr/bin/env bash
# Build the Branchline .deb from an already built binary, without cargo-deb or debhelper.
#
#   packaging/build-deb.sh BIN OUTDIR
#
# BIN is the statically linked release binary
# (target/x86_64-unknown-linux-gnu/release/branchline); OUTDIR receives
# branchline_<version>_amd64.deb. The only line on stdout is the path of the .deb, so callers
# can capture it; progress and errors go to stderr.
#
# Dependencies: the binary links glibc and SQLite statically (+crt-static, bundled rusqlite),
# so the package needs no libc6 dependency; it depends only on adduser, which the
# maintainer scripts use to create the service user. If the dynamically linked `alsa` feature
# is ever packaged, its libc6 and libasound2 dependencies must be added here (SPEC §1).
set -euo pipefail

die() {
    echo "build-deb.sh: error: $*" >&2
    exit 1
}

[ "$#" -eq 2 ] || die "usage: $0 BIN OUTDIR"
BIN=$1
OUTDIR=$2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG="$ROOT/packaging"

[ -e "$BIN" ] || die "binary '$BIN' does not exist; build it with: cargo build --release"
[ -f "$BIN" ] && [ -x "$BIN" ] || die "'$BIN' is not an executable file"
# ldd exits non-zero for "not a dynamic executable" and zero for static-pie ("statically
# linked"); both mean no shared library is needed at run time.
ldd_out=$(ldd "$BIN" 2>&1 || true)
if ! grep -qE 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
    die "'$BIN' is dynamically linked; the package ships a static binary only. ldd says:
$ldd_out
Build for the static target: cargo build --release (see .cargo/config.toml)"
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (apt-get install dpkg)"
mkdir -p "$OUTDIR" || die "cannot create output directory '$OUTDIR'"
OUTDIR=$(cd "$OUTDIR" && pwd)

# The version comes from the [package] table of Cargo.toml. A Cargo pre-release
# (0.2.0-rc.1) becomes 0.2.0~rc.1, which dpkg sorts before 0.2.0 as it should.
cargo_version=$(awk '
    /^\[/ { in_pkg = ($0 == "[package]") }
    in_pkg && /^version[[:space:]]*=/ { gsub(/^version[[:space:]]*=[[:space:]]*"|".*$/, ""); print; exit }
' "$ROOT/Cargo.toml")
[ -n "$cargo_version" ] || die "no version found in $ROOT/Cargo.toml"
VERSION=${cargo_version//-/\~}

umask 022
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/branchline-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
# mktemp makes the directory 0700; it becomes ./ in the archive.
chmod 0755 "$STAGE"

install -D -m 0755 "$BIN" "$STAGE/usr/sbin/branchline"
install -D -m 0644 "$ROOT/systemd/branchline.service" "$STAGE/lib/systemd/system/branchline.service"
# Owner root:root in the archive; postinst sets the group to branchline once the group exists.
install -D -m 0640 "$PKG/branchline.toml" "$STAGE/etc/branchline/branchline.toml"
install -D -m 0644 "$PKG/debian/copyright" "$STAGE/usr/share/doc/branchline/copyright"
install -D -m 0644 "$ROOT/README.md" "$STAGE/usr/share/doc/branchline/README.md"
# SPEC §1: modem AT profiles and desk-phone templates ship with the package as data.
if [ -d "$ROOT/firmware-config" ]; then
    mkdir -p "$STAGE/usr/share/branchline"
    cp -r "$ROOT/firmware-config" "$STAGE/usr/share/branchline/firmware-config"
    find "$STAGE/usr/share/branchline" -type d -exec chmod 0755 {} +
    find "$STAGE/usr/share/branchline" -type f -exec chmod 0644 {} +
fi

# md5sums lets `dpkg --verify branchline` detect modified files (conffiles are tracked apart).
(cd "$STAGE" && find . -type f ! -path './etc/*' -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) >"$STAGE/md5sums.tmp"

# Installed-Size in KiB, counted like dpkg-gencontrol: each file rounded up to a KiB, plus
# one per directory or link, so the figure does not depend on the build file system.
installed_size=$(cd "$STAGE" && find . -mindepth 1 ! -name md5sums.tmp -printf '%y %s\n' |
    awk '$1 == "f" { kib += int(($2 + 1023) / 1024); next } { kib += 1 } END { print kib }')

install -d -m 0755 "$STAGE/DEBIAN"
mv "$STAGE/md5sums.tmp" "$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums"
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    "$PKG/debian/control.in" >"$STAGE/DEBIAN/control"
chmod 0644 "$STAGE/DEBIAN/control"
install -m 0644 "$PKG/debian/conffiles" "$STAGE/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$PKG/debian/$script" "$STAGE/DEBIAN/$script"
done

DEB="$OUTDIR/branchline_${VERSION}_amd64.deb"
# dpkg-deb reports progress on stdout; keep stdout for the path alone.
dpkg-deb --build --root-owner-group "$STAGE" "$DEB" >&2
echo "$DEB"
