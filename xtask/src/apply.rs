//! Writes a plan into `pkgs/` all or nothing: a staged copy of the folder gets every change,
//! then one `renameat2(RENAME_EXCHANGE)` swaps it in. Until that instant `pkgs/` is untouched,
//! so Ctrl-C or a crash mid-run leaves it as it was; after it, every change is there.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub fn apply(
    pkgs: &Path,
    writes: &BTreeMap<String, String>,
    removals: &[String],
) -> io::Result<()> {
    let parent = pkgs
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = pkgs.file_name().and_then(|n| n.to_str()).unwrap_or("pkgs");
    clear_leftovers(parent, name);
    let staging = parent.join(format!(".{name}.staging-{}", std::process::id()));
    let result = stage_and_swap(pkgs, &staging, writes, removals);
    // Whatever happened, the staging folder now holds nothing anyone needs.
    let _ = fs::remove_dir_all(&staging);
    result
}

fn stage_and_swap(
    pkgs: &Path,
    staging: &Path,
    writes: &BTreeMap<String, String>,
    removals: &[String],
) -> io::Result<()> {
    if pkgs.exists() {
        copy_dir(pkgs, staging)?;
    } else {
        fs::create_dir_all(staging)?;
    }
    for attr in removals {
        let dir = staging.join(attr);
        if dir.is_dir() {
            fs::remove_dir_all(dir)?;
        }
    }
    for (path, text) in writes {
        let target = staging.join(path);
        if let Some(dir) = target.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut file = fs::File::create(&target)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    if !pkgs.exists() {
        return fs::rename(staging, pkgs);
    }
    let exchanged = rustix::fs::renameat_with(
        rustix::fs::CWD,
        staging,
        rustix::fs::CWD,
        pkgs,
        rustix::fs::RenameFlags::EXCHANGE,
    );
    if exchanged.is_err() {
        // Filesystems without RENAME_EXCHANGE: two renames, a moment without `pkgs/`.
        let old = staging.with_extension("old");
        fs::rename(pkgs, &old)?;
        fs::rename(staging, pkgs)?;
        fs::rename(&old, staging)?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Staging folders of runs that were killed (their process is gone); a running update's
/// staging folder is left alone.
fn clear_leftovers(parent: &Path, name: &str) {
    let prefix = format!(".{name}.staging-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = pid.trim_end_matches(".old");
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        let _ = fs::remove_dir_all(entry.path());
    }
}
