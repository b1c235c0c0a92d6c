//! `cargo xtask prefetch` as a user runs it: the binary, real archives, real Nix to compare.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::craft::{self, dir, file, tar_gz, tar_member};
use support::http::{self, Reply};
use support::oracle;

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hacs-nix"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim_end()
        .to_owned()
}

fn release_archive(dir_path: &Path) -> std::path::PathBuf {
    let bytes = tar_gz(&[
        dir("integration-2.0.5/"),
        dir("integration-2.0.5/custom_components/hacs/"),
        file(
            "integration-2.0.5/custom_components/hacs/manifest.json",
            br#"{"domain":"hacs"}"#,
        ),
        tar_member(
            b"integration-2.0.5/scripts/setup",
            b'0',
            0o755,
            b"#!/bin/sh\n",
            b"",
        ),
    ]);
    let path = dir_path.join("v2.0.5.tar.gz");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn prints_the_bare_hash_in_each_format() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_archive(work.path());
    let path = archive.to_str().unwrap();
    let hex = oracle::fetchzip_hash(&archive, true);
    let base32 = oracle::hex_to_nix32(&hex);

    let sri = stdout(&xtask(&["prefetch", path]));
    assert!(sri.starts_with("sha256-") && !sri.contains('\n'), "{sri}");
    assert_eq!(
        stdout(&xtask(&["prefetch", path, "--format", "base32"])),
        base32
    );
    assert_eq!(stdout(&xtask(&["prefetch", path, "--format", "hex"])), hex);
    assert_eq!(oracle::nix_prefetch_url_unpack(&archive), base32);

    let json: serde_json::Value =
        serde_json::from_str(&stdout(&xtask(&["prefetch", path, "--json"]))).unwrap();
    assert_eq!(json["sri"], sri.as_str());
    assert_eq!(json["base32"], base32.as_str());
    assert_eq!(json["hex"], hex.as_str());
    assert_eq!(json["files"], 2);
    assert_eq!(json["unpacked_size"], 17 + 10);
    assert_eq!(json["format"], "tar-gz");
    assert_eq!(json["method"], "fetchzip");
    assert_eq!(json["strip_root"], true);
}

#[test]
fn flat_no_strip_root_and_directories() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_archive(work.path());
    let path = archive.to_str().unwrap();

    let flat = stdout(&xtask(&["prefetch", path, "--flat", "--format", "base32"]));
    assert_eq!(flat, oracle::nix_hash_flat_base32(&archive));

    let kept = stdout(&xtask(&[
        "prefetch",
        path,
        "--no-strip-root",
        "--format",
        "hex",
    ]));
    assert_eq!(kept, oracle::fetchzip_hash(&archive, false));

    // A directory: its NAR hash, as `nix-hash --type sha256` prints it.
    let unpacked = oracle::fetchzip_unpack(&archive, true, work.path());
    let of_dir = stdout(&xtask(&[
        "prefetch",
        unpacked.to_str().unwrap(),
        "--format",
        "hex",
    ]));
    assert_eq!(of_dir, oracle::nix_hash(&unpacked));
}

#[test]
fn zip_release_asset_without_a_root_directory() {
    // Like hacs.zip: the integration's files at the top level, `stripRoot = false`.
    let zip = craft::zip(&[
        ("__init__.py", 0o644, b"".as_slice()),
        (
            "manifest.json",
            0o644,
            br#"{"domain":"hacs","version":"2.0.5"}"#,
        ),
        ("hacs_frontend/", 0o755, b""),
        (
            "hacs_frontend/manifest.json",
            0o644,
            br#"{"name":"HACS frontend"}"#,
        ),
    ]);
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("hacs.zip");
    std::fs::write(&path, zip).unwrap();
    let p = path.to_str().unwrap();
    assert_eq!(
        stdout(&xtask(&[
            "prefetch",
            p,
            "--no-strip-root",
            "--format",
            "hex"
        ])),
        oracle::fetchzip_hash(&path, false)
    );

    let refused = xtask(&["prefetch", p]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.contains("error[archive-not-single-root]"),
        "{stderr}"
    );
    assert!(stderr.contains("--no-strip-root"), "{stderr}");
    assert!(stderr.contains(p), "names the file: {stderr}");
    assert!(refused.stdout.is_empty(), "nothing on stdout when refused");
}

#[test]
fn exit_codes_and_messages() {
    let missing = xtask(&["prefetch", "/nonexistent/archive.tar.gz"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/archive.tar.gz"));

    let work = tempfile::tempdir().unwrap();
    let evil = work.path().join("evil.tar.gz");
    std::fs::write(&evil, tar_gz(&[file("pkg/../../etc/cron.d/x", b"x")])).unwrap();
    let out = xtask(&["prefetch", evil.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[archive-parent-component]")
            && stderr.contains("pkg/../../etc/cron.d/x"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("\x1b["),
        "no colour when NO_COLOR is set or stderr is not a terminal"
    );

    let bad_flag = xtask(&["prefetch", "x", "--format", "md5"]);
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn downloads_over_http_then_hashes() {
    let work = tempfile::tempdir().unwrap();
    let archive = release_archive(work.path());
    let bytes = std::fs::read(&archive).unwrap();
    let server = http::serve(vec![
        (
            "/hacs/integration/archive/refs/tags/2.0.5.tar.gz",
            Reply::Ok(bytes.clone()),
        ),
        (
            "/truncated.tar.gz",
            Reply::Truncated {
                body: bytes.clone(),
                sent: bytes.len() / 2,
            },
        ),
        ("/gone.tar.gz", Reply::Status(404)),
    ]);

    let url = format!(
        "{}/hacs/integration/archive/refs/tags/2.0.5.tar.gz",
        server.base
    );
    let hex = stdout(&xtask(&["prefetch", &url, "--format", "hex"]));
    assert_eq!(hex, oracle::fetchzip_hash(&archive, true));

    let truncated = xtask(&["prefetch", &format!("{}/truncated.tar.gz", server.base)]);
    assert_eq!(truncated.status.code(), Some(2));
    assert!(truncated.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&truncated.stderr);
    assert!(stderr.contains("error[download]"), "{stderr}");

    let gone = xtask(&["prefetch", &format!("{}/gone.tar.gz", server.base)]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("404"));
    assert_eq!(server.requests.lock().unwrap().len(), 3);
}

#[test]
fn unreachable_host_is_a_clear_message_not_a_panic() {
    // Port 9 on loopback: nothing listens there, so the connection is refused at once.
    let out = xtask(&["prefetch", "http://127.0.0.1:9/hacs.zip"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error[download]") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
