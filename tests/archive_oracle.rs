//! Our in-process fetchzip hash against real Nix, on random trees archived by real writers.
//!
//! For every case: the tree is written to disk (unicode and space-containing names, names that
//! sort differently in byte and git order, owner-, group- and other-only execute bits, relative,
//! absolute, dangling, looping and long symlinks, hard links, empty directories, zero-byte and
//! multi-megabyte files), archived by GNU tar (pax, gzip), Info-ZIP zip, the tar crate (GNU
//! headers) and the zip crate; each archive is unpacked as fetchzip does (GNU tar / unzip, root
//! stripped) and hashed by `nix-hash`, and our hash of the same archive must be equal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;

use hacs_nix::archive::{self, UnpackOptions};
use hacs_nix::nar;
use proptest::prelude::*;
use support::{oracle, trees};

type Writer = fn(&Path, &str, &Path);

const WRITERS: &[(&str, Writer)] = &[
    ("gnu-tar.tar.gz", trees::gnu_tar_gz),
    ("info-zip.zip", trees::info_zip),
    ("tar-crate.tar", trees::rust_tar),
    ("zip-crate.zip", trees::rust_zip),
];

fn ours(archive: &Path, strip_root: bool) -> (String, Vec<u8>) {
    let options = UnpackOptions {
        strip_root,
        ..UnpackOptions::default()
    };
    let (_, mut tree) = archive::unpack_path(archive, &options)
        .unwrap_or_else(|e| panic!("{}: {e}", archive.display()));
    let nar_bytes = nar::write_tree(&mut tree, Vec::new()).unwrap();
    let digest = nar::hash_tree(&mut tree).unwrap();
    (digest.to_hex(), nar_bytes)
}

fn check_case(
    tree: &std::collections::BTreeMap<String, trees::Spec>,
    strip_root: bool,
    prefetch_url: bool,
) {
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("base");
    let root = base.join(trees::ROOT);
    std::fs::create_dir_all(&root).unwrap();
    trees::materialise(&root, tree);
    // With stripRoot the archive holds `pkg-1.0/…`; without, the files sit at the top level.
    let (archive_base, member) = if strip_root {
        (base.as_path(), trees::ROOT)
    } else {
        (root.as_path(), ".")
    };

    for (name, write) in WRITERS {
        let archive = work.path().join(name);
        write(archive_base, member, &archive);
        let unpacked = work.path().join(format!("oracle-{name}"));
        std::fs::create_dir(&unpacked).unwrap();
        let out = oracle::fetchzip_unpack(&archive, strip_root, &unpacked);
        let expected = oracle::nix_hash(&out);
        let (hash, nar_bytes) = ours(&archive, strip_root);
        assert_eq!(
            hash, expected,
            "{name}: our hash differs from nix-hash of the fetchzip-unpacked tree"
        );
        // The hash agreeing is the point; the NAR bytes agreeing pins down any difference.
        let dumped = oracle::nix_store_dump(&out);
        assert!(
            nar_bytes == dumped,
            "{name}: our NAR bytes differ from nix-store --dump"
        );
        assert_eq!(
            nar::hash_path(&out).unwrap().to_hex(),
            expected,
            "{name}: hash_path of the unpacked tree"
        );
    }

    // Nix's own unpack-and-hash, end to end (its libarchive chokes on non-ASCII zip names).
    if prefetch_url {
        let archive = work.path().join("gnu-tar.tar.gz");
        let (hash, _) = ours(&archive, strip_root);
        assert_eq!(
            oracle::nix_prefetch_url_unpack(&archive),
            oracle::hex_to_nix32(&hash),
            "nix-prefetch-url --unpack"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fetchzip_hash_matches_nix_with_root_stripped(tree in trees::spec_tree(), links in 0usize..4, sample in 0u8..4) {
        let tree = trees::with_hard_links(tree, links);
        check_case(&tree, true, sample == 0 && trees::is_ascii(&tree));
    }

    #[test]
    fn fetchzip_hash_matches_nix_without_stripping(tree in trees::spec_tree()) {
        check_case(&tree, false, false);
    }
}

/// GitHub's source archives are `git archive` tarballs: a pax global header carrying the commit,
/// then `<repo>-<tag>/…` in git's tree order (`a.b` before the directory `a`).
#[test]
fn git_archive_tarball_matches_nix() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    let tree: std::collections::BTreeMap<String, trees::Spec> = [
        (
            "a".to_owned(),
            trees::Spec::Dir(
                [(
                    "x".to_owned(),
                    trees::Spec::File {
                        mode: 0o644,
                        seed: 1,
                        size: 10,
                    },
                )]
                .into(),
            ),
        ),
        (
            "a.b".to_owned(),
            trees::Spec::File {
                mode: 0o755,
                seed: 2,
                size: 100,
            },
        ),
        ("a-b".to_owned(), trees::Spec::Symlink("a/x".to_owned())),
        ("test".to_owned(), trees::Spec::Symlink("..".to_owned())),
        (
            "é file".to_owned(),
            trees::Spec::File {
                mode: 0o644,
                seed: 3,
                size: 70_000,
            },
        ),
    ]
    .into();
    trees::materialise(&repo, &tree);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "release"]);
    git(&["tag", "v1.0"]);
    let archive = work.path().join("v1.0.tar.gz");
    git(&[
        "archive",
        "--format=tar.gz",
        "--prefix=repo-1.0/",
        "-o",
        archive.to_str().unwrap(),
        "v1.0",
    ]);

    let (hash, _) = ours(&archive, true);
    assert_eq!(hash, oracle::fetchzip_hash(&archive, true));
    assert_eq!(
        oracle::nix_prefetch_url_unpack(&archive),
        oracle::hex_to_nix32(&hash)
    );
}

/// Zips made on MS-DOS/Windows hosts, written by Python's `zipfile` with `create_system = 0`
/// and raw CP437 names, with and without the Unicode Path extra field (a matching and a stale
/// CRC), a UTF-8 flagged name, NTFS and Unix hosts, control characters and a VMS version:
/// named as `unzip` names them, so the hash equals `unzip` + `nix-hash`.
#[test]
fn dos_and_windows_zips_are_named_as_unzip_names_them() {
    const WRITER: &str = r#"
import struct, sys, zipfile, zlib
class Raw(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):
        return self.raw, self.flag_bits
def add(zf, raw, data, extra=b"", flag=0, system=0, version=20):
    info = Raw(raw.decode("latin-1"))
    info.raw = raw
    info.create_system = system
    info.create_version = version
    info.extra = extra
    info.flag_bits = flag
    zf.writestr(info, data)
def unicode_path(header, name):
    data = struct.pack("<BI", 1, zlib.crc32(header) & 0xFFFFFFFF) + name.encode()
    return struct.pack("<HH", 0x7075, len(data)) + data
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as zf:
    add(zf, b"top/caf\x82.txt", b"1")
    add(zf, b"top/\xc9t\xe9 \xdb\xb0.txt", b"2")
    add(zf, b"top/d\x82/f.txt", b"3")
    add(zf, b"top/na\x8bve.txt", b"4", unicode_path(b"top/na\x8bve.txt", "top/na\u00efve-unicode.txt"))
    add(zf, b"top/stale\x8b.txt", b"5", unicode_path(b"other", "top/ignored.txt"))
    add(zf, "top/utf8\u00e9.txt".encode(), b"6", flag=0x800)
    add(zf, b"top/ntfs\x82.txt", b"7", system=11)
    add(zf, b"top/ntfs50\x82.txt", b"8", system=11, version=50)
    add(zf, b"top/ctl\x01x\x7fy\xffz.txt", b"9")
    add(zf, b"top/vms.txt;3", b"10")
    add(zf, b"top/ti\x98.txt", b"11")
"#;
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("dos.zip");
    let status = std::process::Command::new("python3")
        .args(["-c", WRITER])
        .arg(&archive)
        .status()
        .unwrap();
    assert!(status.success());
    for strip_root in [true, false] {
        let (hash, _) = ours(&archive, strip_root);
        assert_eq!(
            hash,
            oracle::fetchzip_hash(&archive, strip_root),
            "strip_root = {strip_root}"
        );
    }
}
