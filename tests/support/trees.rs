//! Random trees on disk, and real writers that archive them.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use proptest::prelude::*;

/// The top-level directory of stripRoot archives (GitHub's `<repo>-<tag>`).
pub const ROOT: &str = "pkg-1.0";

#[derive(Debug, Clone)]
pub enum Spec {
    File {
        mode: u32,
        seed: u64,
        size: usize,
    },
    Symlink(String),
    /// A hard link to an earlier file of the tree, by its path below the root.
    HardLink(String),
    Dir(BTreeMap<String, Spec>),
}

/// Names that sort differently in byte order and git's tree order, unicode, spaces, dots.
const NAMES: &[&str] = &[
    "a",
    "a.b",
    "a-b",
    "a b",
    "ab",
    "A",
    "b",
    "é",
    "日本語",
    "z z",
    "x.y.z",
    "_",
    ".hidden",
    "-dash",
    "README.md",
    "manifest.json",
    "00",
    "a~",
    "Z",
];
const MODES: &[u32] = &[
    0o644, 0o755, 0o744, 0o654, 0o645, 0o600, 0o700, 0o444, 0o555, 0o711,
];
const TARGETS: &[&str] = &[
    "../x",
    "a",
    "/nix/store/00000000000000000000000000000000-absolute",
    "nowhere",
    "..",
    ".",
    "../../../../etc/passwd",
    "dir/../a b",
    "é",
];

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(NAMES).prop_map(str::to_owned),
        1 => "[a-z0-9][a-zA-Z0-9 ._~-]{0,14}",
    ]
}

fn file() -> impl Strategy<Value = Spec> {
    let size = prop_oneof![
        3 => Just(0usize),
        10 => 1usize..300,
        3 => 1000usize..70_000,
        1 => 1_000_000usize..3_000_000,
    ];
    (proptest::sample::select(MODES), any::<u64>(), size)
        .prop_map(|(mode, seed, size)| Spec::File { mode, seed, size })
}

fn symlink() -> impl Strategy<Value = Spec> {
    prop_oneof![
        4 => proptest::sample::select(TARGETS).prop_map(|t| Spec::Symlink(t.to_owned())),
        1 => Just(Spec::Symlink("self".to_owned())),
        // Longer than tar's 100-byte link field: GNU long link or pax `linkpath`.
        1 => "[a-z]{150,300}".prop_map(Spec::Symlink),
    ]
}

pub fn spec_tree() -> impl Strategy<Value = BTreeMap<String, Spec>> {
    let leaf = prop_oneof![6 => file(), 2 => symlink(), 1 => Just(Spec::Dir(BTreeMap::new()))];
    let node = leaf.prop_recursive(3, 40, 8, |inner| {
        proptest::collection::btree_map(name(), inner, 0..8).prop_map(Spec::Dir)
    });
    proptest::collection::btree_map(name(), node, 1..10)
}

/// Adds hard links to some files (tar keeps them as links; zip stores copies).
pub fn with_hard_links(mut tree: BTreeMap<String, Spec>, every: usize) -> BTreeMap<String, Spec> {
    let mut files = Vec::new();
    collect_files(&tree, "", &mut files);
    for (i, path) in files
        .iter()
        .enumerate()
        .filter(|(i, _)| every > 0 && i % every == 0)
    {
        tree.insert(format!("hardlink-{i}"), Spec::HardLink(path.clone()));
    }
    tree
}

fn collect_files(tree: &BTreeMap<String, Spec>, prefix: &str, out: &mut Vec<String>) {
    for (name, node) in tree {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match node {
            Spec::File { .. } => out.push(path),
            Spec::Dir(children) => collect_files(children, &path, out),
            _ => {}
        }
    }
}

pub fn contents(seed: u64, size: usize) -> Vec<u8> {
    // xorshift: cheap bytes that compress poorly, so sizes stay realistic.
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(size);
    out
}

/// Writes `tree` below `dir` (which must exist). Hard links are made last, to files written.
pub fn materialise(dir: &Path, tree: &BTreeMap<String, Spec>) {
    let mut links = Vec::new();
    write_entries(dir, tree, &mut links);
    for (link, target) in links {
        fs::hard_link(dir.join(target), link).unwrap();
    }
    // Directory modes last, so that read-only ones do not stop the writes above.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
}

fn write_entries(
    dir: &Path,
    tree: &BTreeMap<String, Spec>,
    links: &mut Vec<(std::path::PathBuf, String)>,
) {
    for (name, node) in tree {
        let path = dir.join(name);
        match node {
            Spec::File { mode, seed, size } => {
                let mut f = fs::File::create(&path).unwrap();
                f.write_all(&contents(*seed, *size)).unwrap();
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
            }
            Spec::Symlink(target) => {
                let target = if target == "self" {
                    name.as_str()
                } else {
                    target.as_str()
                };
                std::os::unix::fs::symlink(target, &path).unwrap();
            }
            Spec::HardLink(target) => links.push((path, target.clone())),
            Spec::Dir(children) => {
                fs::create_dir(&path).unwrap();
                write_entries(&path, children, links);
            }
        }
    }
}

fn run(cmd: &mut Command) {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// GNU tar, gzip-compressed, pax format (long and non-ASCII names in pax records).
pub fn gnu_tar_gz(base: &Path, member: &str, out: &Path) {
    run(Command::new("tar")
        .args(["--format=pax", "-czf"])
        .arg(out)
        .arg("-C")
        .arg(base)
        .arg(member));
}

/// Info-ZIP zip, symlinks stored as links (`-y`), empty directories kept.
pub fn info_zip(base: &Path, member: &str, out: &Path) {
    run(Command::new("zip")
        .args(["-qry"])
        .arg(out)
        .arg(member)
        .current_dir(base));
}

/// The tar crate, GNU format (GNU long-name and long-link headers), uncompressed.
pub fn rust_tar(base: &Path, member: &str, out: &Path) {
    let file = fs::File::create(out).unwrap();
    let mut builder = tar::Builder::new(file);
    builder.follow_symlinks(false);
    if member == "." {
        builder.append_dir_all(".", base).unwrap();
    } else {
        builder.append_dir_all(member, base.join(member)).unwrap();
    }
    builder.into_inner().unwrap().sync_all().unwrap();
}

/// The zip crate: deflated files with Unix modes, symlinks, directories.
pub fn rust_zip(base: &Path, member: &str, out: &Path) {
    let file = fs::File::create(out).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let root = if member == "." {
        base.to_path_buf()
    } else {
        base.join(member)
    };
    let prefix = if member == "." {
        String::new()
    } else {
        format!("{member}/")
    };
    if !prefix.is_empty() {
        zip.add_directory(&prefix, zip::write::SimpleFileOptions::default())
            .unwrap();
    }
    add_to_zip(&mut zip, &root, &prefix);
    zip.finish().unwrap();
}

fn add_to_zip(zip: &mut zip::ZipWriter<fs::File>, dir: &Path, prefix: &str) {
    let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = format!("{prefix}{}", entry.file_name().to_str().unwrap());
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(meta.permissions().mode() & 0o7777);
        if meta.file_type().is_symlink() {
            let target = fs::read_link(entry.path()).unwrap();
            zip.add_symlink(name, target.to_str().unwrap(), options)
                .unwrap();
        } else if meta.is_dir() {
            zip.add_directory(format!("{name}/"), options).unwrap();
            add_to_zip(zip, &entry.path(), &format!("{name}/"));
        } else {
            zip.start_file(name, options).unwrap();
            zip.write_all(&fs::read(entry.path()).unwrap()).unwrap();
        }
    }
}

pub fn is_ascii(tree: &BTreeMap<String, Spec>) -> bool {
    tree.iter().all(|(name, node)| {
        name.is_ascii()
            && match node {
                Spec::Dir(children) => is_ascii(children),
                Spec::Symlink(t) => t.is_ascii(),
                _ => true,
            }
    })
}
