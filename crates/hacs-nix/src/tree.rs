//! An unpacked source tree with exactly the information a NAR keeps: names (raw bytes, sorted
//! in byte order), file contents, the executable flag, symlink targets and directories.
//!
//! File contents stay where it is cheapest to keep them: small archives in memory, the rest
//! spilled to an anonymous temporary file, and zip entries not at all (they are inflated from
//! the archive when read), so hashing a large archive never holds the whole tree in memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Something that can be read and seeked, owned by the tree (an archive file or its bytes).
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

pub(crate) type ZipSource = zip::ZipArchive<Box<dyn ReadSeek>>;

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File(FileNode),
    Symlink { target: Vec<u8> },
    Directory(Entries),
}

/// A directory's entries, in NAR order (byte order of the names).
pub type Entries = BTreeMap<Vec<u8>, Node>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNode {
    pub executable: bool,
    pub size: u64,
    pub(crate) blob: BlobId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlobId(pub(crate) usize);

#[derive(Debug)]
pub(crate) enum Blob {
    Memory(Box<[u8]>),
    Spilled { offset: u64, len: u64 },
    ZipEntry { index: usize },
}

/// Where file contents live.
pub(crate) struct Contents {
    pub(crate) blobs: Vec<Blob>,
    pub(crate) spill: Option<File>,
    pub(crate) zip: Option<ZipSource>,
}

impl std::fmt::Debug for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contents")
            .field("blobs", &self.blobs.len())
            .field("spilled", &self.spill.is_some())
            .field("zip", &self.zip.is_some())
            .finish()
    }
}

impl Contents {
    pub(crate) fn new(zip: Option<ZipSource>) -> Self {
        Self {
            blobs: Vec::new(),
            spill: None,
            zip,
        }
    }

    pub(crate) fn push(&mut self, blob: Blob) -> BlobId {
        self.blobs.push(blob);
        BlobId(self.blobs.len() - 1)
    }

    /// A reader over one file's bytes. Zip entries are inflated (and their CRC checked when read
    /// to the end); the caller checks the length against the node's `size`.
    pub(crate) fn open(&mut self, id: BlobId) -> io::Result<Box<dyn Read + '_>> {
        match self.blobs.get(id.0) {
            Some(Blob::Memory(bytes)) => Ok(Box::new(&bytes[..])),
            Some(&Blob::Spilled { offset, len }) => {
                let file = self
                    .spill
                    .as_mut()
                    .ok_or_else(|| io::Error::other("spill file missing"))?;
                file.seek(SeekFrom::Start(offset))?;
                Ok(Box::new(file.take(len)))
            }
            Some(&Blob::ZipEntry { index }) => {
                let zip = self
                    .zip
                    .as_mut()
                    .ok_or_else(|| io::Error::other("zip archive missing"))?;
                let entry = zip.by_index(index).map_err(io::Error::other)?;
                Ok(Box::new(entry))
            }
            None => Err(io::Error::other("no such blob")),
        }
    }

    pub(crate) fn read_all(&mut self, id: BlobId, size: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(size.min(1 << 20)).unwrap_or(0));
        self.open(id)?.read_to_end(&mut out)?;
        Ok(out)
    }
}

/// Counts of what the tree holds (after `stripRoot`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TreeStats {
    pub files: u64,
    pub directories: u64,
    pub symlinks: u64,
    /// Sum of the regular files' sizes.
    pub unpacked_bytes: u64,
}

/// An unpacked tree: the root node and where its contents live.
#[derive(Debug)]
pub struct Tree {
    pub(crate) root: Node,
    pub(crate) contents: Contents,
    /// The top-level directory `stripRoot` removed (`repo-1.0/`), to name entries in errors
    /// as they appear in the archive.
    stripped: Vec<u8>,
}

impl Tree {
    pub(crate) fn new(root: Node, contents: Contents, stripped: Vec<u8>) -> Self {
        Self {
            root,
            contents,
            stripped,
        }
    }

    /// An entry's name as the archive spells it: the stripped top level, then `path`.
    pub fn archive_name(&self, path: &[u8]) -> String {
        let mut name = self.stripped.clone();
        if !name.is_empty() && !path.is_empty() {
            name.push(b'/');
        }
        name.extend_from_slice(path);
        String::from_utf8_lossy(&name).into_owned()
    }

    /// The paths of the tree's files (symlinks left out), relative to its root, in name order.
    pub fn file_paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.root(), "", &mut out);
        out
    }

    pub fn root(&self) -> &Node {
        &self.root
    }

    pub fn stats(&self) -> TreeStats {
        let mut stats = TreeStats::default();
        count(&self.root, &mut stats);
        stats
    }

    /// The node at a `/`-separated path relative to the root (`""` is the root).
    pub fn lookup(&self, path: &str) -> Option<&Node> {
        let mut node = &self.root;
        for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
            match node {
                Node::Directory(entries) => node = entries.get(part.as_bytes())?,
                _ => return None,
            }
        }
        Some(node)
    }

    /// The bytes of a regular file, if `path` names one (symlinks are not followed).
    pub fn read_file(&mut self, path: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(Node::File(file)) = self.lookup(path) else {
            return Ok(None);
        };
        let (blob, size) = (file.blob, file.size);
        self.contents.read_all(blob, size).map(Some)
    }

    /// fetchzip's `stripRoot` after the fact: when the root holds exactly one directory, make it
    /// the root. Returns whether it did.
    pub fn strip_single_directory(&mut self) -> bool {
        let Node::Directory(entries) = &mut self.root else {
            return false;
        };
        if entries.len() != 1 || !matches!(entries.values().next(), Some(Node::Directory(_))) {
            return false;
        }
        let Some((name, node)) = entries.pop_first() else {
            return false;
        };
        let mut stripped = self.stripped.clone();
        if !stripped.is_empty() {
            stripped.push(b'/');
        }
        stripped.extend_from_slice(&name);
        self.root = node;
        self.stripped = stripped;
        true
    }

    pub(crate) fn parts_mut(&mut self) -> (&Node, &mut Contents, &[u8]) {
        (&self.root, &mut self.contents, &self.stripped)
    }
}

fn count(node: &Node, stats: &mut TreeStats) {
    match node {
        Node::File(f) => {
            stats.files += 1;
            stats.unpacked_bytes += f.size;
        }
        Node::Symlink { .. } => stats.symlinks += 1,
        Node::Directory(entries) => {
            stats.directories += 1;
            entries.values().for_each(|child| count(child, stats));
        }
    }
}

fn walk(node: &Node, prefix: &str, out: &mut Vec<String>) {
    match node {
        Node::Directory(entries) => {
            for (name, child) in entries {
                let name = String::from_utf8_lossy(name);
                let path = if prefix.is_empty() {
                    name.into_owned()
                } else {
                    format!("{prefix}/{name}")
                };
                walk(child, &path, out);
            }
        }
        Node::File(_) => out.push(prefix.to_owned()),
        Node::Symlink { .. } => {}
    }
}
