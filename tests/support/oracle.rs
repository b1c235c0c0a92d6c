//! Real Nix and real unpackers. A missing tool fails the test: `.ci/run` installs them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) -> Vec<u8> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {shown}: {e} (install nix-bin, unzip, zip: see .ci/run)")
    });
    assert!(
        out.status.success(),
        "{shown} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap().trim().to_owned()
}

/// `nix-hash --type sha256 PATH`: the NAR hash in hex.
pub fn nix_hash(path: &Path) -> String {
    text(run(Command::new("nix-hash")
        .args(["--type", "sha256"])
        .arg(path)))
}

/// `nix-store --dump PATH`: the NAR bytes.
pub fn nix_store_dump(path: &Path) -> Vec<u8> {
    run(Command::new("nix-store").arg("--dump").arg(path))
}

/// `nix-prefetch-url --unpack file://…`: Nix's own unpack-and-hash, printed in base32.
pub fn nix_prefetch_url_unpack(archive: &Path) -> String {
    let url = format!("file://{}", archive.canonicalize().unwrap().display());
    text(run(Command::new("nix-prefetch-url")
        .arg("--unpack")
        .arg(url)))
}

/// `nix-hash --type sha256 --flat FILE` in base32.
pub fn nix_hash_flat_base32(path: &Path) -> String {
    text(run(Command::new("nix-hash")
        .args(["--type", "sha256", "--flat", "--base32"])
        .arg(path)))
}

/// What nixpkgs' fetchzip does: `unpackFile` (GNU tar for tarballs, `unzip` for zips), then
/// `stripRoot` (exactly one entry; a lone file is moved into `$out`). Returns the unpacked
/// output directory (inside `work`) so callers can hash or dump it.
pub fn fetchzip_unpack(archive: &Path, strip_root: bool, work: &Path) -> PathBuf {
    let unpack = work.join("unpack");
    fs::create_dir_all(&unpack).unwrap();
    let head = fs::read(archive).unwrap();
    if head.starts_with(b"PK") {
        // fetchzip brings glibcLocalesUtf8 so that unzip's setup hook unpacks in a UTF-8 locale
        // (it decides how Unicode Path names are written): the same here, whatever the caller's.
        run(Command::new("unzip")
            .arg("-qq")
            .arg(archive)
            .env("LC_ALL", "C.UTF-8")
            .current_dir(&unpack));
    } else {
        run(Command::new("tar")
            .arg("xf")
            .arg(archive)
            .args(["--mode=+w", "--warning=no-timestamp"])
            .current_dir(&unpack));
    }
    let out = work.join("out");
    if !strip_root {
        fs::rename(&unpack, &out).unwrap();
        return out;
    }
    let entries: Vec<_> = fs::read_dir(&unpack)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "fetchzip would fail: not a single top-level entry"
    );
    // `[ -f "$unpackDir/$fn" ]` follows symlinks, as here.
    if entries[0].is_file() {
        fs::create_dir(&out).unwrap();
        fs::rename(&entries[0], out.join(entries[0].file_name().unwrap())).unwrap();
    } else {
        fs::rename(&entries[0], &out).unwrap();
    }
    out
}

/// fetchzip's hash of an archive (hex), computed by real tools.
pub fn fetchzip_hash(archive: &Path, strip_root: bool) -> String {
    let work = tempfile::tempdir().unwrap();
    nix_hash(&fetchzip_unpack(archive, strip_root, work.path()))
}

pub fn hex_to_nix32(hex: &str) -> String {
    text(run(Command::new("nix-hash").args([
        "--type",
        "sha256",
        "--to-base32",
        hex,
    ])))
}
