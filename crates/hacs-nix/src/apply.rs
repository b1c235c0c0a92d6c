//! Writing a plan into `pkgs/`: one run per checkout, all or nothing, durable, and never outside.
//!
//! - An advisory lock (`flock`) on `.<pkgs>.lock` beside the folder is held from before the lock
//!   file is read until the plan is written, so two runs never plan from the same state and
//!   overwrite each other; the holder's PID is in the file, for the message the second one gives.
//! - A staged copy (unchanged files hard-linked) gets every change, then one
//!   `renameat2(RENAME_EXCHANGE)` swaps it in: until that instant `pkgs/` is untouched. Where the
//!   filesystem lacks the exchange (`EINVAL`/`ENOSYS` only), two renames through a backup, which
//!   the next run restores if it finds the folder missing.
//! - New files and every directory of the staged tree are fsynced, and the parent after the swap.
//! - Every path written or removed is made of validated components below the folder.
//! - A symlinked `pkgs/` is resolved: its target is what gets written.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::names::is_path_attribute;

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error(
        "another run is writing {pkgs} (process {pid} holds {lock}); try again when it has finished"
    )]
    Busy {
        pkgs: String,
        lock: String,
        pid: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("`{0}` is not a path hacs-nix writes below pkgs/")]
    Path(String),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ApplyError + '_ {
    move |source| ApplyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A checkout whose `pkgs/` this process alone may write while the value lives.
#[derive(Debug)]
pub struct Checkout {
    pkgs: PathBuf,
    parent: PathBuf,
    name: String,
    /// Holds the `flock` until dropped.
    _lock: File,
}

impl Checkout {
    /// Takes the checkout's lock, waiting up to `wait` for another run to finish; resolves a
    /// symlinked folder; restores a folder an interrupted fallback swap left missing; clears
    /// staging folders of killed runs (safe: no other run holds the lock).
    pub fn lock(pkgs: &Path, wait: Duration) -> Result<Self, ApplyError> {
        let pkgs = resolve(pkgs)?;
        let parent = pkgs
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let name = pkgs
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("pkgs")
            .to_owned();
        fs::create_dir_all(&parent).map_err(io_error(&parent))?;
        let lock_path = parent.join(format!(".{name}.lock"));
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_error(&lock_path))?;
        let deadline = Instant::now() + wait;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    return Err(ApplyError::Busy {
                        pkgs: pkgs.display().to_string(),
                        lock: lock_path.display().to_string(),
                        pid: pid.trim().to_owned(),
                    });
                }
                Err(e) => return Err(io_error(&lock_path)(e.into())),
            }
        }
        file.set_len(0).map_err(io_error(&lock_path))?;
        file.rewind().map_err(io_error(&lock_path))?;
        write!(file, "{}", std::process::id()).map_err(io_error(&lock_path))?;
        let checkout = Self {
            pkgs,
            parent,
            name,
            _lock: file,
        };
        checkout.recover()?;
        Ok(checkout)
    }

    /// The folder written (a symlink's target).
    pub fn pkgs(&self) -> &Path {
        &self.pkgs
    }

    fn prefixed(&self, kind: &str) -> String {
        format!(".{}.{kind}-", self.name)
    }

    /// Leftovers of killed runs: an interrupted fallback swap is undone (its backup is the
    /// whole previous folder), staging folders are removed.
    fn recover(&self) -> Result<(), ApplyError> {
        let backups = self.leftovers("old")?;
        if !self.pkgs.exists()
            && let Some(backup) = backups.first()
        {
            fs::rename(backup, &self.pkgs).map_err(io_error(backup))?;
        }
        for leftover in self
            .leftovers("old")?
            .into_iter()
            .chain(self.leftovers("staging")?)
        {
            fs::remove_dir_all(&leftover).map_err(io_error(&leftover))?;
        }
        Ok(())
    }

    fn leftovers(&self, kind: &str) -> Result<Vec<PathBuf>, ApplyError> {
        let prefix = self.prefixed(kind);
        let mut found: Vec<PathBuf> = fs::read_dir(&self.parent)
            .map_err(io_error(&self.parent))?
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .map(|e| e.path())
            .collect();
        found.sort();
        Ok(found)
    }

    /// A name no other run can have chosen.
    fn unique(&self, kind: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        self.parent.join(format!(
            "{}{}-{nanos}",
            self.prefixed(kind),
            std::process::id()
        ))
    }

    /// Writes `writes` (paths relative to the folder) and removes the folders `removals`
    /// (attribute names), all at once.
    pub fn apply(
        &self,
        writes: &BTreeMap<String, String>,
        removals: &[String],
    ) -> Result<(), ApplyError> {
        for path in writes.keys() {
            relative(path)?;
        }
        for attr in removals {
            if !removable(attr) {
                return Err(ApplyError::Path(attr.clone()));
            }
        }
        let staging = self.unique("staging");
        let result = self.stage_and_swap(&staging, writes, removals);
        // Whatever happened, the staging folder now holds nothing anyone needs.
        let _ = fs::remove_dir_all(&staging);
        result
    }

    fn stage_and_swap(
        &self,
        staging: &Path,
        writes: &BTreeMap<String, String>,
        removals: &[String],
    ) -> Result<(), ApplyError> {
        if self.pkgs.exists() {
            link_tree(&self.pkgs, staging)?;
        } else {
            fs::create_dir_all(staging).map_err(io_error(staging))?;
        }
        for attr in removals {
            let dir = staging.join(attr);
            if dir.symlink_metadata().is_ok() {
                fs::remove_dir_all(&dir).map_err(io_error(&dir))?;
            }
        }
        for (path, text) in writes {
            let target = staging.join(relative(path)?);
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
            // The staged file may be a hard link to the live one: replace, never truncate.
            if target.symlink_metadata().is_ok() {
                fs::remove_file(&target).map_err(io_error(&target))?;
            }
            let mut file = File::create_new(&target).map_err(io_error(&target))?;
            file.write_all(text.as_bytes()).map_err(io_error(&target))?;
            file.sync_all().map_err(io_error(&target))?;
        }
        sync_dirs(staging)?;
        if !self.pkgs.exists() {
            fs::rename(staging, &self.pkgs).map_err(io_error(&self.pkgs))?;
            return sync_dir(&self.parent);
        }
        let exchanged = rustix::fs::renameat_with(
            rustix::fs::CWD,
            staging,
            rustix::fs::CWD,
            &self.pkgs,
            rustix::fs::RenameFlags::EXCHANGE,
        );
        match exchanged {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
                self.swap_by_renames(staging)?;
            }
            Err(e) => return Err(io_error(&self.pkgs)(e.into())),
        }
        sync_dir(&self.parent)
    }

    /// Filesystems without `RENAME_EXCHANGE`: a moment without the folder, which `recover`
    /// repairs if the process dies in it.
    fn swap_by_renames(&self, staging: &Path) -> Result<(), ApplyError> {
        let backup = self.unique("old");
        fs::rename(&self.pkgs, &backup).map_err(io_error(&self.pkgs))?;
        fs::rename(staging, &self.pkgs).map_err(io_error(staging))?;
        sync_dir(&self.parent)?;
        fs::remove_dir_all(&backup).map_err(io_error(&backup))
    }
}

/// A folder a plan may remove: a component's (`<attr>`) or a generated Python package's
/// (`python/<attr>`).
fn removable(path: &str) -> bool {
    match path.split_once('/') {
        None => is_path_attribute(path),
        Some((crate::config::PYTHON_TABLE, attr)) => is_path_attribute(attr),
        Some(_) => false,
    }
}

/// A symlinked folder is written where it points.
fn resolve(pkgs: &Path) -> Result<PathBuf, ApplyError> {
    match fs::symlink_metadata(pkgs) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(pkgs).map_err(io_error(pkgs)),
        _ => Ok(pkgs.to_path_buf()),
    }
}

/// A path below the folder made only of normal components.
fn relative(path: &str) -> Result<&Path, ApplyError> {
    let p = Path::new(path);
    let normal = !path.is_empty()
        && !path.contains('\0')
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    normal
        .then_some(p)
        .ok_or_else(|| ApplyError::Path(path.to_owned()))
}

/// The tree at `from` rebuilt at `to`: directories created, files hard-linked (copied where
/// the filesystem refuses), symlinks recreated.
fn link_tree(from: &Path, to: &Path) -> Result<(), ApplyError> {
    fs::create_dir(to).map_err(io_error(to))?;
    for entry in fs::read_dir(from).map_err(io_error(from))? {
        let entry = entry.map_err(io_error(from))?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(io_error(&source))?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if kind.is_symlink() {
            let link = fs::read_link(&source).map_err(io_error(&source))?;
            std::os::unix::fs::symlink(link, &target).map_err(io_error(&target))?;
        } else if fs::hard_link(&source, &target).is_err() {
            fs::copy(&source, &target).map_err(io_error(&target))?;
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), ApplyError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

fn sync_dirs(dir: &Path) -> Result<(), ApplyError> {
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        if entry.file_type().map_err(io_error(dir))?.is_dir() {
            sync_dirs(&entry.path())?;
        }
    }
    sync_dir(dir)
}
