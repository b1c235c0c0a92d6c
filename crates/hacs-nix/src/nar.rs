//! NAR serialisation (Nix ARchive), streamed: into SHA-256 for a hash, or into any writer for
//! the bytes themselves (compared with `nix-store --dump` in the tests).
//!
//! Format: every string is its length (u64, little-endian), its bytes, and zero padding to a
//! multiple of 8. Directory entries are sorted by name in byte order, which the tree's
//! `BTreeMap<Vec<u8>, _>` gives for free.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use thiserror::Error;

use crate::archive::ArchiveError;
use crate::hash::{HashingWriter, Sha256Digest};
use crate::tree::{Contents, Node, Tree};

#[derive(Debug, Error)]
pub enum NarError {
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path} is a {kind}, which a NAR cannot hold")]
    UnsupportedFileType { path: String, kind: &'static str },
    #[error("writing the NAR: {0}")]
    Write(io::Error),
}

const PADDING: [u8; 8] = [0; 8];
/// Big enough that inflate and SHA-256 run on long slices, small enough to stay in cache.
const CHUNK: usize = 256 << 10;

struct NarWriter<W> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> NarWriter<W> {
    fn new(out: W) -> Self {
        Self {
            out,
            buf: Vec::new(),
        }
    }

    fn str(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(&(bytes.len() as u64).to_le_bytes())?;
        self.out.write_all(bytes)?;
        self.pad(bytes.len() as u64)
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % 8) as usize;
        if rem != 0 {
            self.out.write_all(&PADDING[..8 - rem])?;
        }
        Ok(())
    }

    /// A file's contents: the declared length first, then exactly that many bytes from `reader`.
    /// Returns how many bytes the reader really had (the caller compares with `size`).
    fn contents(&mut self, size: u64, reader: &mut dyn Read) -> io::Result<u64> {
        self.out.write_all(&size.to_le_bytes())?;
        if self.buf.is_empty() {
            self.buf = vec![0; CHUNK];
        }
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n as u64;
            if total > size {
                return Ok(total);
            }
            self.out.write_all(&self.buf[..n])?;
        }
        self.pad(size)?;
        Ok(total)
    }

    fn file_header(&mut self, executable: bool) -> io::Result<()> {
        self.str(b"(")?;
        self.str(b"type")?;
        self.str(b"regular")?;
        if executable {
            self.str(b"executable")?;
            self.str(b"")?;
        }
        self.str(b"contents")
    }

    fn symlink(&mut self, target: &[u8]) -> io::Result<()> {
        for token in [&b"("[..], b"type", b"symlink", b"target", target, b")"] {
            self.str(token)?;
        }
        Ok(())
    }
}

/// Writes the NAR of a tree into `out`.
pub fn write_tree<W: Write>(tree: &mut Tree, out: W) -> Result<W, NarError> {
    let (root, contents, stripped) = tree.parts_mut();
    let mut nar = NarWriter::new(out);
    nar.str(b"nix-archive-1").map_err(NarError::Write)?;
    // Errors name entries as the archive does, stripped top level included.
    write_node(&mut nar, root, contents, &mut stripped.to_vec())?;
    Ok(nar.out)
}

/// The NAR hash of a tree: what fetchzip pins.
pub fn hash_tree(tree: &mut Tree) -> Result<Sha256Digest, NarError> {
    Ok(write_tree(tree, HashingWriter::new())?.finish())
}

fn write_node<W: Write>(
    nar: &mut NarWriter<W>,
    node: &Node,
    contents: &mut Contents,
    path: &mut Vec<u8>,
) -> Result<(), NarError> {
    let w = NarError::Write;
    match node {
        Node::File(file) => {
            nar.file_header(file.executable).map_err(w)?;
            let entry = || String::from_utf8_lossy(path).into_owned();
            let mut reader = contents
                .open(file.blob)
                .map_err(|e| ArchiveError::corrupt(format!("entry `{}`: {e}", entry())))?;
            let actual = nar.contents(file.size, &mut reader).map_err(|e| {
                // Read errors (inflate, CRC) are the archive's fault; the writer's are ours.
                NarError::Archive(ArchiveError::corrupt(format!("entry `{}`: {e}", entry())))
            })?;
            if actual != file.size {
                return Err(ArchiveError::SizeMismatch {
                    entry: entry(),
                    declared: file.size,
                    actual,
                }
                .into());
            }
            nar.str(b")").map_err(w)?;
        }
        Node::Symlink { target } => nar.symlink(target).map_err(w)?,
        Node::Directory(entries) => {
            for token in [&b"("[..], b"type", b"directory"] {
                nar.str(token).map_err(w)?;
            }
            for (name, child) in entries {
                for token in [&b"entry"[..], b"(", b"name", name, b"node"] {
                    nar.str(token).map_err(w)?;
                }
                let before = path.len();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(name);
                write_node(nar, child, contents, path)?;
                path.truncate(before);
                nar.str(b")").map_err(w)?;
            }
            nar.str(b")").map_err(w)?;
        }
    }
    Ok(())
}

/// Writes the NAR of a filesystem path, as `nix-store --dump` does (symlinks not followed).
pub fn dump_path<W: Write>(path: &Path, out: W) -> Result<W, NarError> {
    let mut nar = NarWriter::new(out);
    nar.str(b"nix-archive-1").map_err(NarError::Write)?;
    dump_node(&mut nar, path)?;
    Ok(nar.out)
}

/// The NAR hash of a filesystem path, as `nix-hash --type sha256` prints it.
pub fn hash_path(path: &Path) -> Result<Sha256Digest, NarError> {
    Ok(dump_path(path, HashingWriter::new())?.finish())
}

fn dump_node<W: Write>(nar: &mut NarWriter<W>, path: &Path) -> Result<(), NarError> {
    let io_err = |source| NarError::Io {
        path: path.display().to_string(),
        source,
    };
    let w = NarError::Write;
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = fs::read_link(path).map_err(io_err)?;
        nar.symlink(target.as_os_str().as_bytes()).map_err(w)?;
    } else if kind.is_file() {
        nar.file_header(meta.permissions().mode() & 0o100 != 0)
            .map_err(w)?;
        let mut file = fs::File::open(path).map_err(io_err)?;
        let actual = nar.contents(meta.len(), &mut file).map_err(io_err)?;
        if actual != meta.len() {
            return Err(io_err(io::Error::other(
                "the file changed while it was read",
            )));
        }
        nar.str(b")").map_err(w)?;
    } else if kind.is_dir() {
        let mut names: Vec<_> = fs::read_dir(path)
            .map_err(io_err)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err)?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for token in [&b"("[..], b"type", b"directory"] {
            nar.str(token).map_err(w)?;
        }
        for name in names {
            for token in [&b"entry"[..], b"(", b"name", name.as_bytes(), b"node"] {
                nar.str(token).map_err(w)?;
            }
            dump_node(nar, &path.join(&name))?;
            nar.str(b")").map_err(w)?;
        }
        nar.str(b")").map_err(w)?;
    } else {
        return Err(NarError::UnsupportedFileType {
            path: path.display().to_string(),
            kind: "special file",
        });
    }
    Ok(())
}
