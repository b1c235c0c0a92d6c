//! Tar and tar.gz, read as GNU tar extracts them.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use tar::EntryType;

use super::ArchiveError;
use super::builder::{Builder, display};

/// A plain tar has `ustar` at offset 257, or (old v7 archives) a valid header checksum.
pub(super) fn looks_like_tar(head: &[u8]) -> bool {
    if head.len() < 512 {
        return false;
    }
    if &head[257..262] == b"ustar" {
        return true;
    }
    let field = String::from_utf8_lossy(&head[148..156]);
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = head[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                u32::from(b' ')
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored && head[0] != 0
}

/// Caps the bytes of the (decompressed) tar stream: headers, long names and pax records are
/// read into memory by the tar parser, so they must be bounded as well as file contents.
struct StreamCap<R> {
    inner: R,
    left: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for StreamCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.tripped.set(true);
                Err(io::Error::other(
                    "the tar stream exceeds the unpacked size limit",
                ))
            }
        }
    }
}

pub(super) fn read<R: Read>(
    reader: R,
    mut builder: Builder,
    compressed: bool,
) -> Result<Builder, ArchiveError> {
    let limits = *builder.limits();
    let tripped = Rc::new(Cell::new(false));
    let cap = limits
        .max_unpacked_bytes
        .saturating_add(limits.max_entries.saturating_mul(2048))
        .saturating_add(16 << 20);
    let capped = StreamCap {
        inner: reader,
        left: cap,
        tripped: Rc::clone(&tripped),
    };
    let what = if compressed {
        "gzip stream"
    } else {
        "tar stream"
    };
    // Inflate runs ahead on its own thread, so a broken stream is noticed near, not exactly at,
    // the entry it breaks: name the last entry that was read whole.
    let failed = |e: io::Error, last: &[u8]| {
        let after = if last.is_empty() {
            String::new()
        } else {
            format!(" (after entry `{}`)", display(last))
        };
        if tripped.get() {
            ArchiveError::TooLarge {
                entry: format!("(tar stream){after}"),
                limit: limits.max_unpacked_bytes,
            }
        } else {
            ArchiveError::corrupt(format!("{what}{after}: {e}"))
        }
    };
    let mut archive = tar::Archive::new(capped);
    let mut last = Vec::new();
    for entry in archive.entries().map_err(|e| failed(e, &last))? {
        let mut entry = entry.map_err(|e| failed(e, &last))?;
        builder.count_entry()?;
        let path = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        // The tar crate reports an empty link field as none: it is an empty target.
        let link = entry
            .link_name_bytes()
            .map(|l| l.into_owned())
            .unwrap_or_default();
        match kind {
            EntryType::XGlobalHeader => {}
            EntryType::Directory => builder.add_directory(&path)?,
            // GNU dumpdir: a directory with a listing of its contents as data.
            _ if kind.as_byte() == b'D' => builder.add_directory(&path)?,
            EntryType::Symlink => builder.add_symlink(&path, link)?,
            EntryType::Link => builder.add_hard_link(&path, &link)?,
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let what = match kind {
                    EntryType::Char => "character device",
                    EntryType::Block => "block device",
                    _ => "FIFO",
                };
                return Err(ArchiveError::UnsupportedEntryType {
                    entry: display(&path),
                    kind: what.to_owned(),
                });
            }
            _ if matches!(kind.as_byte(), b'V' | b'M') => {
                return Err(ArchiveError::UnsupportedEntryType {
                    entry: display(&path),
                    kind: "multi-volume tar header".to_owned(),
                });
            }
            // Old archives mark directories with a trailing slash on a regular entry.
            EntryType::Regular if path.ends_with(b"/") => builder.add_directory(&path)?,
            // Regular, contiguous, sparse, and unknown types, which GNU tar extracts as files.
            _ => {
                let mode = entry.header().mode().map_err(|e| {
                    ArchiveError::corrupt(format!("entry `{}` has a bad mode: {e}", display(&path)))
                })?;
                let size = entry.size();
                builder.account(&path, size)?;
                builder.add_file(&path, mode & 0o100 != 0, size, &mut entry)?;
            }
        }
        last = path;
    }
    // Read to the end of the stream so that a truncated or corrupt gzip trailer is noticed.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| failed(e, &last))?;
    Ok(builder)
}
