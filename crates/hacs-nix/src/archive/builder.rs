//! Builds a tree from archive entries, applying what GNU tar and unzip do when extracting into an
//! empty directory, then fetchzip's `stripRoot`.

use std::io::{self, BufWriter, Read, Seek, Write};

use super::{ArchiveError, Limits};
use crate::tree::{Blob, BlobId, Contents, Entries, FileNode, Node, Tree, ZipSource};

/// Splits an archive path into its components: `.` and empty components dropped (as tar and
/// unzip do), everything that could escape the unpack directory refused.
pub(crate) fn components(raw: &[u8]) -> Result<Vec<&[u8]>, ArchiveError> {
    let entry = || display(raw);
    if raw.contains(&0) {
        return Err(ArchiveError::NulInName { entry: entry() });
    }
    if raw.first() == Some(&b'/') {
        return Err(ArchiveError::AbsolutePath { entry: entry() });
    }
    let mut parts = Vec::new();
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(ArchiveError::ParentComponent { entry: entry() }),
            _ => parts.push(part),
        }
    }
    Ok(parts)
}

pub(crate) fn display(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

pub(crate) struct Builder {
    root: Entries,
    contents: Contents,
    limits: Limits,
    compressed_len: u64,
    entries: u64,
    unpacked: u64,
    in_memory: u64,
    spill: Option<BufWriter<std::fs::File>>,
    spill_len: u64,
}

impl Builder {
    pub(crate) fn new(limits: Limits, compressed_len: u64) -> Self {
        Self {
            root: Entries::new(),
            contents: Contents::new(None),
            limits,
            compressed_len,
            entries: 0,
            unpacked: 0,
            in_memory: 0,
            spill: None,
            spill_len: 0,
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn set_zip(&mut self, zip: ZipSource) {
        self.contents.zip = Some(zip);
    }

    pub(crate) fn zip_mut(&mut self) -> Option<&mut ZipSource> {
        self.contents.zip.as_mut()
    }

    /// Every entry counts against the entry limit, metadata headers included.
    pub(crate) fn count_entry(&mut self) -> Result<(), ArchiveError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                limit: self.limits.max_entries,
            });
        }
        Ok(())
    }

    /// Accounts for `size` more unpacked bytes, before they are read.
    pub(crate) fn account(&mut self, raw: &[u8], size: u64) -> Result<(), ArchiveError> {
        self.unpacked = self.unpacked.saturating_add(size);
        let limits = &self.limits;
        if self.unpacked > limits.max_unpacked_bytes {
            return Err(ArchiveError::TooLarge {
                entry: display(raw),
                limit: limits.max_unpacked_bytes,
            });
        }
        if self.unpacked > limits.ratio_grace_bytes
            && self.unpacked > limits.max_ratio.saturating_mul(self.compressed_len.max(1))
        {
            return Err(ArchiveError::RatioExceeded {
                entry: display(raw),
                unpacked: self.unpacked,
                compressed: self.compressed_len,
                limit: limits.max_ratio,
            });
        }
        Ok(())
    }

    pub(crate) fn add_directory(&mut self, raw: &[u8]) -> Result<(), ArchiveError> {
        let parts = components(raw)?;
        if parts.is_empty() {
            return Ok(()); // `./`: the unpack directory itself
        }
        self.insert(raw, &parts, Node::Directory(Entries::new()))
    }

    pub(crate) fn add_symlink(&mut self, raw: &[u8], target: Vec<u8>) -> Result<(), ArchiveError> {
        if target.is_empty() {
            return Err(ArchiveError::EmptySymlinkTarget {
                entry: display(raw),
            });
        }
        if target.contains(&0) {
            return Err(ArchiveError::NulInName {
                entry: display(raw),
            });
        }
        let parts = self.file_components(raw)?;
        self.insert(raw, &parts, Node::Symlink { target })
    }

    /// Stores a file read from a stream of exactly `size` bytes (already accounted for).
    pub(crate) fn add_file(
        &mut self,
        raw: &[u8],
        executable: bool,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<(), ArchiveError> {
        let parts = self.file_components(raw)?;
        let read_err =
            |e: io::Error| ArchiveError::corrupt(format!("reading entry `{}`: {e}", display(raw)));
        let blob = if self.in_memory + size <= self.limits.memory_budget {
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            reader
                .take(size)
                .read_to_end(&mut bytes)
                .map_err(read_err)?;
            self.in_memory += size;
            Blob::Memory(bytes.into_boxed_slice())
        } else {
            let offset = self.spill_len;
            let spill = self.spill_writer()?;
            let copied = io::copy(&mut reader.take(size), spill).map_err(read_err)?;
            self.spill_len += copied;
            Blob::Spilled {
                offset,
                len: copied,
            }
        };
        let stored = match &blob {
            Blob::Memory(bytes) => bytes.len() as u64,
            Blob::Spilled { len, .. } => *len,
            Blob::ZipEntry { .. } => size,
        };
        if stored != size {
            return Err(ArchiveError::corrupt(format!(
                "entry `{}` ends after {stored} of its {size} bytes",
                display(raw)
            )));
        }
        let blob = self.contents.push(blob);
        self.insert(
            raw,
            &parts,
            Node::File(FileNode {
                executable,
                size,
                blob,
            }),
        )
    }

    /// Records a zip entry whose bytes stay in the archive until they are read.
    pub(crate) fn add_zip_file(
        &mut self,
        raw: &[u8],
        executable: bool,
        size: u64,
        index: usize,
    ) -> Result<(), ArchiveError> {
        let parts = self.file_components(raw)?;
        let blob = self.contents.push(Blob::ZipEntry { index });
        self.insert(
            raw,
            &parts,
            Node::File(FileNode {
                executable,
                size,
                blob,
            }),
        )
    }

    /// A tar hard link: GNU tar links to the file extracted earlier, so the entry becomes an
    /// identical independent file (or symlink) in the NAR.
    pub(crate) fn add_hard_link(
        &mut self,
        raw: &[u8],
        target_raw: &[u8],
    ) -> Result<(), ArchiveError> {
        let missing = || ArchiveError::HardLinkTargetMissing {
            entry: display(raw),
            target: display(target_raw),
        };
        let target_parts = components(target_raw)?;
        let mut node = None;
        let mut dir = &self.root;
        for (i, part) in target_parts.iter().enumerate() {
            match dir.get(*part) {
                Some(Node::Directory(entries)) if i + 1 < target_parts.len() => dir = entries,
                Some(found) if i + 1 == target_parts.len() => node = Some(found.clone()),
                _ => return Err(missing()),
            }
        }
        let node = node.ok_or_else(missing)?;
        if matches!(node, Node::Directory(_)) {
            return Err(ArchiveError::HardLinkToDirectory {
                entry: display(raw),
                target: display(target_raw),
            });
        }
        let parts = self.file_components(raw)?;
        self.insert(raw, &parts, node)
    }

    fn file_components<'a>(&self, raw: &'a [u8]) -> Result<Vec<&'a [u8]>, ArchiveError> {
        let parts = components(raw)?;
        if parts.is_empty() {
            return Err(ArchiveError::corrupt(format!(
                "entry `{}` names the top directory but is not a directory",
                display(raw)
            )));
        }
        Ok(parts)
    }

    fn spill_writer(&mut self) -> Result<&mut BufWriter<std::fs::File>, ArchiveError> {
        let io_err = |context: &str| {
            let context = context.to_owned();
            move |source| ArchiveError::Io { context, source }
        };
        match self.spill {
            Some(ref mut w) => Ok(w),
            None => {
                // After a duplicate comparison the spill file was handed to `contents`: append
                // to the same file so earlier offsets stay valid.
                let mut file = match self.contents.spill.take() {
                    Some(file) => file,
                    None => tempfile::tempfile()
                        .map_err(io_err("cannot create a temporary file to spill to"))?,
                };
                file.seek(io::SeekFrom::End(0))
                    .map_err(io_err("cannot seek the spill file"))?;
                Ok(self.spill.insert(BufWriter::with_capacity(1 << 20, file)))
            }
        }
    }

    fn insert(&mut self, raw: &[u8], parts: &[&[u8]], node: Node) -> Result<(), ArchiveError> {
        if parts.len() > self.limits.max_depth {
            return Err(ArchiveError::TooDeep {
                entry: display(raw),
                limit: self.limits.max_depth,
            });
        }
        let Some((name, parents)) = parts.split_last() else {
            return Ok(());
        };
        let mut dir = &mut self.root;
        for (depth, part) in parents.iter().enumerate() {
            let child = dir
                .entry(part.to_vec())
                .or_insert_with(|| Node::Directory(Entries::new()));
            match child {
                Node::Directory(entries) => dir = entries,
                _ => {
                    return Err(ArchiveError::ParentNotDirectory {
                        entry: display(raw),
                        parent: display(&parts[..=depth].join(&b'/')),
                    });
                }
            }
        }
        let Some(existing) = dir.get(*name) else {
            dir.insert(name.to_vec(), node);
            return Ok(());
        };
        let same = match (existing, &node) {
            (Node::Directory(_), Node::Directory(_)) => true,
            (Node::Symlink { target: a }, Node::Symlink { target: b }) => a == b,
            (Node::File(a), Node::File(b)) if a.blob == b.blob => true,
            (Node::File(a), Node::File(b)) if a.executable == b.executable && a.size == b.size => {
                let (a, b, size) = (a.blob, b.blob, a.size);
                self.same_contents(a, b, size).map_err(|e| {
                    ArchiveError::corrupt(format!(
                        "comparing duplicate entry `{}`: {e}",
                        display(raw)
                    ))
                })?
            }
            _ => false,
        };
        if same {
            Ok(())
        } else {
            Err(ArchiveError::ConflictingDuplicate {
                entry: display(raw),
            })
        }
    }

    fn same_contents(&mut self, a: BlobId, b: BlobId, size: u64) -> io::Result<bool> {
        self.flush_spill()?;
        let first = self.contents.read_all(a, size)?;
        let second = self.contents.read_all(b, size)?;
        Ok(first == second)
    }

    fn flush_spill(&mut self) -> io::Result<()> {
        if let Some(writer) = self.spill.take() {
            let mut file = writer.into_inner().map_err(|e| e.into_error())?;
            file.flush()?;
            file.seek(io::SeekFrom::End(0))?;
            self.contents.spill = Some(file);
        }
        Ok(())
    }

    /// Applies `stripRoot` as fetchzip does: exactly one top-level entry; a directory becomes
    /// the root, a single file is placed inside a new root directory.
    pub(crate) fn finish(mut self, strip_root: bool) -> Result<Tree, ArchiveError> {
        self.flush_spill().map_err(|source| ArchiveError::Io {
            context: "cannot write the temporary spill file".to_owned(),
            source,
        })?;
        let mut root = std::mem::take(&mut self.root);
        let (root, stripped) = if !strip_root {
            (Node::Directory(root), Vec::new())
        } else {
            match root.len() {
                0 => return Err(ArchiveError::Empty),
                1 => match root.pop_first() {
                    Some((name, node @ Node::Directory(_))) => (node, name),
                    Some((name, file @ Node::File(_))) => {
                        (Node::Directory(Entries::from([(name, file)])), Vec::new())
                    }
                    Some((name, Node::Symlink { .. })) => {
                        return Err(ArchiveError::RootIsSymlink {
                            entry: display(&name),
                        });
                    }
                    None => return Err(ArchiveError::Empty),
                },
                count => {
                    let mut names: Vec<String> = root
                        .keys()
                        .take(5)
                        .map(|k| format!("`{}`", display(k)))
                        .collect();
                    if count > 5 {
                        names.push(format!("and {} more", count - 5));
                    }
                    return Err(ArchiveError::NotSingleRoot {
                        count,
                        names: names.join(", "),
                    });
                }
            }
        };
        Ok(Tree::new(root, self.contents, stripped))
    }
}
