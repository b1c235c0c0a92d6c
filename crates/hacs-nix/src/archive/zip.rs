//! Zip, read as Info-ZIP `unzip` extracts it: Unix modes (executable bit, symlinks) only from
//! archives made on Unix-like hosts; names as unzip writes them (`zip_names`).

use std::io::Read;

use zip::CompressionMethod;
use zip::System;

use super::ArchiveError;
use super::builder::{Builder, display};
use crate::tree::ReadSeek;

const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
/// Longer symlink targets than this are not plausible (Linux's PATH_MAX is 4096).
const MAX_LINK_TARGET: u64 = 64 << 10;

/// Hosts for which unzip trusts the upper 16 bits of the external attributes as a Unix mode.
fn unix_like(system: System) -> bool {
    matches!(
        system,
        System::Unix
            | System::OpenVMS
            | System::AtariSt
            | System::AcornRisc
            | System::BeOS
            | System::Tandem
            | System::VSE
    )
}

pub(super) fn read(
    source: Box<dyn ReadSeek>,
    mut builder: Builder,
) -> Result<Builder, ArchiveError> {
    let zip =
        zip::ZipArchive::new(source).map_err(|e| ArchiveError::corrupt(format!("zip: {e}")))?;
    if zip.has_duplicate_names() {
        return Err(ArchiveError::DuplicateZipName {
            entry: "(the zip crate does not tell which)".to_owned(),
        });
    }
    let count = zip.len();
    // Owned by the builder from the start, so duplicate entries can be compared by content.
    builder.set_zip(zip);
    for index in 0..count {
        builder.count_entry()?;
        let zip = builder
            .zip_mut()
            .ok_or_else(|| ArchiveError::corrupt("zip archive lost"))?;
        let meta = zip
            .by_index_raw(index)
            .map_err(|e| ArchiveError::corrupt(format!("zip entry {index}: {e}")))?;
        let raw_name = meta.name_raw().to_vec();
        let system = meta.system();
        // The zip crate already put a valid Unicode Path's name in place of the header's; it
        // did when the field's name is the name it gives.
        let unicode_applied = meta
            .extra_data()
            .as_deref()
            .and_then(super::zip_names::unicode_path)
            .is_some_and(|name| name == raw_name.as_slice());
        let (major, minor) = meta.version_made_by();
        let name = super::zip_names::unzip_name(&super::zip_names::Header {
            raw: &raw_name,
            system,
            made_by: major.saturating_mul(10).saturating_add(minor),
            unix_attributes: meta.external_attributes() >> 16 != 0,
            unicode_path: unicode_applied.then_some(raw_name.as_slice()),
        });
        let mode = unix_like(system)
            .then(|| meta.external_attributes() >> 16)
            .filter(|m| *m != 0);
        let (size, method, encrypted) = (meta.size(), meta.compression(), meta.encrypted());
        drop(meta);

        if !unix_like(system) && raw_name.contains(&b'\\') {
            return Err(ArchiveError::BackslashInName {
                entry: display(&name),
            });
        }
        if encrypted {
            return Err(ArchiveError::Encrypted {
                entry: display(&name),
            });
        }
        if name.ends_with(b"/") {
            builder.add_directory(&name)?;
            continue;
        }
        let file_type = mode.map_or(S_IFREG, |m| m & S_IFMT);
        match file_type {
            S_IFLNK => {
                if size > MAX_LINK_TARGET {
                    return Err(ArchiveError::corrupt(format!(
                        "symlink `{}` has a {size}-byte target",
                        display(&name)
                    )));
                }
                let mut target = Vec::new();
                let zip = builder
                    .zip_mut()
                    .ok_or_else(|| ArchiveError::corrupt("zip archive lost"))?;
                let mut entry = zip.by_index(index).map_err(|e| {
                    ArchiveError::corrupt(format!("zip entry `{}`: {e}", display(&name)))
                })?;
                entry
                    .by_ref()
                    .take(MAX_LINK_TARGET)
                    .read_to_end(&mut target)
                    .map_err(|e| {
                        ArchiveError::corrupt(format!("zip entry `{}`: {e}", display(&name)))
                    })?;
                drop(entry);
                builder.add_symlink(&name, target)?;
            }
            // A directory mode without the trailing slash: unzip still writes a file.
            S_IFREG | S_IFDIR | 0 => {
                if !matches!(
                    method,
                    CompressionMethod::Stored | CompressionMethod::Deflated
                ) {
                    return Err(ArchiveError::UnsupportedCompression {
                        entry: display(&name),
                        method: method.to_string(),
                    });
                }
                builder.account(&name, size)?;
                let executable = mode.is_some_and(|m| m & 0o100 != 0);
                builder.add_zip_file(&name, executable, size, index)?;
            }
            other => {
                let kind = match other {
                    0o010_000 => "FIFO",
                    0o020_000 => "character device",
                    0o060_000 => "block device",
                    0o140_000 => "socket",
                    _ => "special file",
                };
                return Err(ArchiveError::UnsupportedEntryType {
                    entry: display(&name),
                    kind: kind.to_owned(),
                });
            }
        }
    }
    Ok(builder)
}
