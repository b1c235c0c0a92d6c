//! Archive bytes → a [`Tree`] with exactly the semantics of nixpkgs' `fetchzip`: unpacked as
//! stdenv's `unpackFile` does (GNU tar, Info-ZIP unzip), then `stripRoot`.
//!
//! The format is recognised from the content, never from the file name. Everything that would
//! make the unpacked tree differ from what Nix sees, or that could harm the machine, is refused
//! with an error that names the entry.

mod builder;
mod error;
mod pipe;
mod tar;
mod zip;
mod zip_names;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

pub use error::ArchiveError;

use crate::tree::{ReadSeek, Tree};

/// Safety limits against archive bombs and hostile input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sum of all file sizes once unpacked.
    pub max_unpacked_bytes: u64,
    /// Entries of any kind (files, directories, links).
    pub max_entries: u64,
    /// Unpacked bytes per compressed byte, once more than [`Limits::ratio_grace_bytes`] are unpacked.
    pub max_ratio: u64,
    /// Below this many unpacked bytes the ratio is not enforced (tiny archives of empty or
    /// repetitive files compress extremely well and are harmless).
    pub ratio_grace_bytes: u64,
    /// Directory nesting.
    pub max_depth: usize,
    /// File contents kept in memory before spilling to a temporary file.
    pub memory_budget: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 1 << 30,
            max_entries: 100_000,
            max_ratio: 200,
            ratio_grace_bytes: 1 << 20,
            max_depth: 512,
            memory_budget: 128 << 20,
        }
    }
}

/// How to unpack: fetchzip's `stripRoot` and the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackOptions {
    pub strip_root: bool,
    pub limits: Limits,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        Self {
            strip_root: true,
            limits: Limits::default(),
        }
    }
}

/// The container formats `fetchzip` unpacks that release archives use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    TarGz,
    Tar,
    Zip,
}

impl Format {
    /// Recognises a format from the first bytes (at least 512 for a plain tar).
    pub fn detect(head: &[u8]) -> Result<Self, ArchiveError> {
        match head {
            [0x1f, 0x8b, ..] => Ok(Self::TarGz),
            [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => {
                Ok(Self::Zip)
            }
            _ if tar::looks_like_tar(head) => Ok(Self::Tar),
            [b'B', b'Z', b'h', ..] => Err(ArchiveError::UnsupportedFormat("bzip2")),
            [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Err(ArchiveError::UnsupportedFormat("xz")),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Err(ArchiveError::UnsupportedFormat("zstd")),
            [b'7', b'z', 0xbc, 0xaf, ..] => Err(ArchiveError::UnsupportedFormat("7z")),
            _ => Err(ArchiveError::NotAnArchive {
                head: describe_head(head),
            }),
        }
    }
}

fn describe_head(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(&head[..head.len().min(16)]);
    if head.is_empty() {
        "an empty file".to_owned()
    } else if text.trim_start().starts_with('<') {
        "an HTML or XML document (an error page saved as the archive?)".to_owned()
    } else {
        format!("bytes starting {:?}", text)
    }
}

/// The format of the archive at `path`, from its first 512 bytes.
pub fn detect_path(path: &Path) -> Result<Format, ArchiveError> {
    let mut head = Vec::with_capacity(512);
    File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|source| ArchiveError::Io {
            context: format!("cannot read {}", path.display()),
            source,
        })?;
    Format::detect(&head)
}

/// Unpacks the archive at `path`.
pub fn unpack_path(path: &Path, options: &UnpackOptions) -> Result<(Format, Tree), ArchiveError> {
    let file = File::open(path).map_err(|source| ArchiveError::Io {
        context: format!("cannot open {}", path.display()),
        source,
    })?;
    unpack(Box::new(file), options)
}

/// Unpacks an archive held in memory.
pub fn unpack_bytes(
    bytes: Vec<u8>,
    options: &UnpackOptions,
) -> Result<(Format, Tree), ArchiveError> {
    unpack(Box::new(io::Cursor::new(bytes)), options)
}

/// Unpacks an archive from any seekable source.
pub fn unpack(
    mut source: Box<dyn ReadSeek>,
    options: &UnpackOptions,
) -> Result<(Format, Tree), ArchiveError> {
    let io_err = |context: &str| {
        let context = context.to_owned();
        move |source| ArchiveError::Io { context, source }
    };
    let compressed_len = source
        .seek(SeekFrom::End(0))
        .map_err(io_err("cannot seek the archive"))?;
    source
        .seek(SeekFrom::Start(0))
        .map_err(io_err("cannot seek the archive"))?;
    let mut head = Vec::with_capacity(512);
    (&mut source)
        .take(512)
        .read_to_end(&mut head)
        .map_err(io_err("cannot read the archive"))?;
    source
        .seek(SeekFrom::Start(0))
        .map_err(io_err("cannot seek the archive"))?;
    let format = Format::detect(&head)?;
    let builder = builder::Builder::new(options.limits, compressed_len);
    let tree = match format {
        Format::TarGz => {
            let inflate =
                flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(1 << 16, source));
            let pipe =
                pipe::Pipe::spawn(inflate).map_err(io_err("cannot start the inflate thread"))?;
            tar::read(pipe, builder, true)?
        }
        Format::Tar => tar::read(
            io::BufReader::with_capacity(1 << 16, source),
            builder,
            false,
        )?,
        Format::Zip => zip::read(source, builder)?,
    };
    Ok((format, tree.finish(options.strip_root)?))
}

/// Reads a directory on disk (a checkout) into a tree, as if it were an archive's content with
/// `stripRoot = false`. `.git` is left out: GitHub's archives never contain it.
pub fn read_dir(path: &Path, limits: &Limits) -> Result<Tree, ArchiveError> {
    let mut builder = builder::Builder::new(*limits, u64::MAX);
    walk(path, &mut Vec::new(), &mut builder)?;
    builder.finish(false)
}

fn walk(dir: &Path, rel: &mut Vec<u8>, builder: &mut builder::Builder) -> Result<(), ArchiveError> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let io_err = |path: &Path| {
        let context = format!("cannot read {}", path.display());
        move |source| ArchiveError::Io { context, source }
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .collect::<Result<_, _>>()
        .map_err(io_err(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        if rel.is_empty() && name == ".git" {
            continue;
        }
        let path = entry.path();
        let before = rel.len();
        if !rel.is_empty() {
            rel.push(b'/');
        }
        rel.extend_from_slice(name.as_bytes());
        builder.count_entry()?;
        let meta = std::fs::symlink_metadata(&path).map_err(io_err(&path))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(io_err(&path))?;
            builder.add_symlink(rel, target.as_os_str().as_bytes().to_vec())?;
        } else if meta.is_dir() {
            builder.add_directory(rel)?;
            walk(&path, rel, builder)?;
        } else if meta.is_file() {
            builder.account(rel, meta.len())?;
            let mut file = File::open(&path).map_err(io_err(&path))?;
            builder.add_file(
                rel,
                meta.permissions().mode() & 0o100 != 0,
                meta.len(),
                &mut file,
            )?;
        } else {
            return Err(ArchiveError::UnsupportedEntryType {
                entry: String::from_utf8_lossy(rel).into_owned(),
                kind: "special file".to_owned(),
            });
        }
        rel.truncate(before);
    }
    Ok(())
}
