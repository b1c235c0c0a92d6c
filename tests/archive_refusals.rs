//! Hostile and broken archives, one per rule: each is refused with an error naming the entry.
//! Also the accepted edge cases next to them (identical duplicates, a lone top-level file,
//! spilling to disk), checked against real Nix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hacs_nix::archive::{self, ArchiveError, Limits, UnpackOptions};
use hacs_nix::nar::{self, NarError};
use support::craft::{self, dir, file, hard_link, symlink, tar_gz, tar_member};
use support::oracle;

fn hash(bytes: Vec<u8>, options: &UnpackOptions) -> Result<String, ArchiveError> {
    let (_, mut tree) = archive::unpack_bytes(bytes, options)?;
    match nar::hash_tree(&mut tree) {
        Ok(digest) => Ok(digest.to_hex()),
        Err(NarError::Archive(e)) => Err(e),
        Err(other) => panic!("unexpected NAR error: {other}"),
    }
}

fn refused(bytes: Vec<u8>) -> ArchiveError {
    refused_with(bytes, &UnpackOptions::default())
}

fn refused_with(bytes: Vec<u8>, options: &UnpackOptions) -> ArchiveError {
    match hash(bytes, options) {
        Ok(h) => panic!("accepted with hash {h}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_rule(error: &ArchiveError, rule: &str, mentions: &str) {
    assert_eq!(error.rule_id(), rule, "{error}");
    assert!(
        error.to_string().contains(mentions),
        "`{error}` should mention `{mentions}`"
    );
    assert!(!error.help().is_empty());
}

/// Writes the archive and returns the hash real Nix gives it through fetchzip's steps.
fn oracle_hash(bytes: &[u8], strip_root: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a");
    std::fs::write(&path, bytes).unwrap();
    oracle::fetchzip_hash(&path, strip_root)
}

#[test]
fn absolute_paths() {
    let e = refused(tar_gz(&[file("/etc/passwd", b"x")]));
    assert_rule(&e, "archive-absolute-path", "/etc/passwd");
    let e = refused(craft::zip(&[("/etc/cron.d/x", 0o644, b"x")]));
    assert_rule(&e, "archive-absolute-path", "/etc/cron.d/x");
}

#[test]
fn parent_components() {
    let e = refused(tar_gz(&[dir("pkg/"), file("pkg/../../evil", b"x")]));
    assert_rule(&e, "archive-parent-component", "pkg/../../evil");
    let e = refused(craft::zip(&[("pkg/../x", 0o644, b"x")]));
    assert_rule(&e, "archive-parent-component", "pkg/../x");
    // A hard link may not point outside either.
    let e = refused(tar_gz(&[
        file("pkg/a", b"x"),
        hard_link("pkg/b", "../etc/shadow"),
    ]));
    assert_rule(&e, "archive-parent-component", "../etc/shadow");
}

#[test]
fn nul_in_a_name() {
    let e = refused(tar_gz(&[
        craft::pax(&[("path", b"pkg/a\0b")]),
        file("placeholder", b"x"),
    ]));
    assert_rule(&e, "archive-nul-in-name", "pkg/a");
    let e = refused(tar_gz(&[
        craft::pax(&[("linkpath", b"a\0b")]),
        symlink("pkg/l", "x"),
    ]));
    assert_rule(&e, "archive-nul-in-name", "pkg/l");
}

#[test]
fn devices_and_fifos() {
    for (flag, kind) in [
        (b'3', "character device"),
        (b'4', "block device"),
        (b'6', "FIFO"),
    ] {
        let e = refused(tar_gz(&[
            dir("pkg/"),
            tar_member(b"pkg/dev", flag, 0o644, b"", b""),
        ]));
        assert_rule(&e, "archive-special-file", kind);
        assert!(e.to_string().contains("pkg/dev"));
    }
    // A zip made on Unix whose mode says FIFO.
    let mut zip = craft::zip(&[("pkg/fifo", 0o644, b"")]);
    for at in craft::central_headers(&zip) {
        zip[at + 38..at + 42].copy_from_slice(&((0o010_644u32) << 16).to_le_bytes());
    }
    assert_rule(&refused(zip), "archive-special-file", "pkg/fifo");
}

#[test]
fn hard_links() {
    let e = refused(tar_gz(&[dir("pkg/"), hard_link("pkg/b", "pkg/missing")]));
    assert_rule(&e, "archive-hard-link-missing", "pkg/missing");
    // Target later in the archive: GNU tar fails the same way.
    let e = refused(tar_gz(&[hard_link("pkg/b", "pkg/a"), file("pkg/a", b"x")]));
    assert_rule(&e, "archive-hard-link-missing", "pkg/b");
    let e = refused(tar_gz(&[dir("pkg/d/"), hard_link("pkg/b", "pkg/d")]));
    assert_rule(&e, "archive-hard-link-directory", "pkg/d");

    // A good hard link is an independent copy with the target's mode.
    let good = tar_gz(&[
        dir("pkg/"),
        tar_member(b"pkg/a", b'0', 0o755, b"#!/bin/sh\n", b""),
        hard_link("pkg/b", "pkg/a"),
    ]);
    assert_eq!(
        hash(good.clone(), &UnpackOptions::default()).unwrap(),
        oracle_hash(&good, true)
    );
}

#[test]
fn conflicting_duplicates_are_refused_identical_ones_accepted() {
    let e = refused(tar_gz(&[file("pkg/a", b"one"), file("pkg/a", b"two")]));
    assert_rule(&e, "archive-duplicate-entry", "pkg/a");
    let e = refused(tar_gz(&[
        file("pkg/a", b"one"),
        tar_member(b"pkg/a", b'0', 0o755, b"one", b""),
    ]));
    assert_rule(&e, "archive-duplicate-entry", "pkg/a");
    let e = refused(tar_gz(&[dir("pkg/a/"), file("pkg/a", b"x")]));
    assert_rule(&e, "archive-duplicate-entry", "pkg/a");
    let e = refused(tar_gz(&[symlink("pkg/a", "x"), symlink("pkg/./a", "y")]));
    assert_rule(&e, "archive-duplicate-entry", "pkg/./a");

    // GNU tar overwrites with the second copy; an identical second copy changes nothing.
    let twice = tar_gz(&[
        file("pkg/a", b"same"),
        dir("pkg/"),
        file("./pkg/a", b"same"),
        dir("pkg"),
    ]);
    let once = tar_gz(&[file("pkg/a", b"same")]);
    let ours = hash(twice.clone(), &UnpackOptions::default()).unwrap();
    assert_eq!(ours, oracle_hash(&twice, true));
    assert_eq!(ours, hash(once, &UnpackOptions::default()).unwrap());

    // The zip crate keeps only one of two equal names: refuse rather than guess which.
    let mut zip = craft::zip(&[
        ("pkg/dupA", 0o644, b"first"),
        ("pkg/dupB", 0o644, b"second"),
    ]);
    craft::replace_all(&mut zip, b"dupB", b"dupA");
    assert_rule(
        &refused(zip),
        "archive-duplicate-entry",
        "central directory",
    );
    // Names equal only after normalisation are compared by content.
    let zip = craft::zip(&[("pkg/a", 0o644, b"first"), ("pkg/./a", 0o644, b"second")]);
    assert_rule(&refused(zip), "archive-duplicate-entry", "pkg/./a");
    let zip = craft::zip(&[("pkg/a", 0o644, b"same"), ("pkg/./a", 0o644, b"same")]);
    assert!(hash(zip, &UnpackOptions::default()).is_ok());
}

#[test]
fn entries_below_a_file_or_symlink() {
    let e = refused(tar_gz(&[
        symlink("pkg/link", "/etc"),
        file("pkg/link/passwd", b"x"),
    ]));
    assert_rule(&e, "archive-parent-not-directory", "pkg/link/passwd");
    let e = refused(tar_gz(&[file("pkg/f", b"x"), file("pkg/f/g", b"x")]));
    assert_rule(&e, "archive-parent-not-directory", "pkg/f");
}

#[test]
fn empty_symlink_target() {
    let e = refused(tar_gz(&[dir("pkg/"), symlink("pkg/l", "")]));
    assert_rule(&e, "archive-empty-symlink", "pkg/l");
}

#[test]
fn truncated_and_corrupt_archives() {
    let members = [
        dir("pkg/"),
        file("pkg/a", &support::trees::contents(7, 200_000)),
    ];
    let good = tar_gz(&members);
    // Cut inside the compressed data, and cut only the gzip trailer (CRC and length).
    assert_rule(
        &refused(good[..good.len() / 2].to_vec()),
        "archive-corrupt",
        "pkg/a",
    );
    assert_rule(
        &refused(good[..good.len() - 4].to_vec()),
        "archive-corrupt",
        "gzip",
    );
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x55;
    assert_eq!(refused(flipped).rule_id(), "archive-corrupt");
    // A plain tar cut in the middle of a member's data.
    let plain = craft::tar(&members);
    assert_rule(
        &refused(plain[..100_000].to_vec()),
        "archive-corrupt",
        "pkg/a",
    );

    let zip = craft::zip(&[("pkg/a", 0o644, &support::trees::contents(9, 100_000))]);
    let e = refused(zip[..zip.len() - 30].to_vec());
    assert_rule(&e, "archive-corrupt", "zip");
    // Damage inside the deflated data: inflate or the CRC check fails while hashing.
    let mut damaged = zip.clone();
    let at = craft::local_headers(&damaged)[0] + 30 + "pkg/a".len() + 5000;
    damaged[at] ^= 0xff;
    assert_rule(&refused(damaged), "archive-corrupt", "pkg/a");
}

#[test]
fn zip_that_lies_about_its_size() {
    let mut zip = craft::zip(&[("pkg/a", 0o644, &[b'x'; 10_000])]);
    let local = craft::local_headers(&zip)[0];
    let central = craft::central_headers(&zip)[0];
    zip[local + 22..local + 26].copy_from_slice(&100u32.to_le_bytes());
    zip[central + 24..central + 28].copy_from_slice(&100u32.to_le_bytes());
    let e = refused(zip);
    assert!(
        matches!(e.rule_id(), "archive-size-mismatch" | "archive-corrupt"),
        "{e}"
    );
    assert!(e.to_string().contains("pkg/a"), "{e}");
}

#[test]
fn zip_entries_unzip_cannot_extract() {
    let mut zip = craft::zip(&[("pkg/a", 0o644, b"data")]);
    for at in craft::central_headers(&zip) {
        zip[at + 10..at + 12].copy_from_slice(&12u16.to_le_bytes()); // bzip2
    }
    assert_rule(&refused(zip), "archive-unsupported-compression", "pkg/a");

    let mut zip = craft::zip(&[("pkg/a", 0o644, b"data")]);
    for at in craft::central_headers(&zip) {
        zip[at + 8] |= 1; // general purpose flag: encrypted
    }
    let e = refused(zip);
    assert!(
        matches!(e.rule_id(), "archive-encrypted" | "archive-corrupt"),
        "{e}"
    );

    // Made on MS-DOS with a backslash: unzip may treat it as a separator.
    let mut zip = craft::zip(&[("pkg\\a.txt", 0o644, b"data")]);
    for at in craft::central_headers(&zip) {
        zip[at + 5] = 0; // version made by: host MS-DOS
    }
    assert_rule(&refused(zip), "archive-backslash-in-name", "pkg\\a.txt");
}

#[test]
fn bombs_by_ratio_size_entries_and_depth() {
    // 64 MiB of zeros: a few dozen KiB compressed, far past 200:1.
    let zeros = vec![0u8; 64 << 20];
    let e = refused(tar_gz(&[dir("pkg/"), file("pkg/zeros", &zeros)]));
    assert_rule(&e, "archive-compression-ratio", "pkg/zeros");
    let e = refused(craft::zip(&[("pkg/zeros", 0o644, &zeros)]));
    assert_rule(&e, "archive-compression-ratio", "pkg/zeros");

    let small = UnpackOptions {
        limits: Limits {
            max_unpacked_bytes: 1 << 20,
            ..Limits::default()
        },
        ..UnpackOptions::default()
    };
    let random = support::trees::contents(3, 2 << 20);
    let e = refused_with(tar_gz(&[file("pkg/big", &random)]), &small);
    assert_rule(&e, "archive-too-large", "pkg/big");
    let e = refused_with(craft::zip(&[("pkg/big", 0o644, &random)]), &small);
    assert_rule(&e, "archive-too-large", "pkg/big");

    // The default entry limit, 100,000, with empty files (no ratio involved).
    let mut members = vec![dir("pkg/")];
    members.extend((0..100_000).map(|i| file(&format!("pkg/{i}"), b"")));
    let e = refused(tar_gz(&members));
    assert_rule(&e, "archive-too-many-entries", "100000");

    let deep = format!("pkg/{}f", "d/".repeat(600));
    let e = refused(tar_gz(&[
        craft::pax(&[("path", deep.as_bytes())]),
        file("placeholder", b"x"),
    ]));
    assert_rule(&e, "archive-too-deep", "pkg/d/d/d");
}

#[test]
fn strip_root_rules_as_fetchzip() {
    let several = tar_gz(&[file("a", b"1"), file("b", b"2"), dir("c/")]);
    let e = refused(several.clone());
    assert_rule(&e, "archive-not-single-root", "3");
    assert!(e.help().contains("--no-strip-root"));
    let keep = UnpackOptions {
        strip_root: false,
        ..UnpackOptions::default()
    };
    assert_eq!(
        hash(several.clone(), &keep).unwrap(),
        oracle_hash(&several, false)
    );

    assert_eq!(refused(craft::tar_gz(&[])).rule_id(), "archive-empty");
    assert_eq!(
        refused(craft::tar_gz(&[dir("./")])).rule_id(),
        "archive-empty"
    );
    assert_rule(
        &refused(tar_gz(&[symlink("only", "elsewhere")])),
        "archive-root-is-symlink",
        "only",
    );

    // A lone top-level file is moved into `$out`, as fetchzip's `mkdir $out; mv` does.
    let lone = tar_gz(&[tar_member(b"tool", b'0', 0o755, b"#!/bin/sh\n", b"")]);
    assert_eq!(
        hash(lone.clone(), &UnpackOptions::default()).unwrap(),
        oracle_hash(&lone, true)
    );
}

#[test]
fn not_archives() {
    let html = b"<!DOCTYPE html><html><body>Not Found</body></html>".to_vec();
    assert_rule(&refused(html), "archive-not-an-archive", "HTML");
    assert_rule(&refused(Vec::new()), "archive-not-an-archive", "empty");
    assert_rule(
        &refused(b"BZh91AY&SY....".to_vec()),
        "archive-unsupported-format",
        "bzip2",
    );
    assert_rule(
        &refused(b"\xfd7zXZ\0rest".to_vec()),
        "archive-unsupported-format",
        "xz",
    );
}

/// Contents past the memory budget go to a temporary file; the hash must not change, and
/// duplicates that straddle memory and disk are still compared by content.
#[test]
fn spilling_to_disk_gives_the_same_hash() {
    let members: Vec<Vec<u8>> = (0..40u64)
        .map(|i| {
            file(
                &format!("pkg/f{i}"),
                &support::trees::contents(i, 30_000 + i as usize),
            )
        })
        .chain([file("pkg/f3", &support::trees::contents(3, 30_003))])
        .collect();
    let bytes = tar_gz(&members);
    let in_memory = hash(bytes.clone(), &UnpackOptions::default()).unwrap();
    let tiny = UnpackOptions {
        limits: Limits {
            memory_budget: 100_000,
            ..Limits::default()
        },
        ..UnpackOptions::default()
    };
    assert_eq!(hash(bytes.clone(), &tiny).unwrap(), in_memory);
    assert_eq!(in_memory, oracle_hash(&bytes, true));

    let conflicting: Vec<Vec<u8>> = members
        .iter()
        .cloned()
        .chain([file("pkg/f39", b"different")])
        .collect();
    assert_rule(
        &refused_with(tar_gz(&conflicting), &tiny),
        "archive-duplicate-entry",
        "pkg/f39",
    );
}
