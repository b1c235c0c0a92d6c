//! Missing requirements → the packages to generate: each chosen on the index, downloaded and
//! verified, read from its own metadata, and its requirements resolved against Home
//! Assistant's set in turn, breadth first, within a depth and a count, cycles joined.

use std::collections::{BTreeMap, VecDeque};

use super::{Package, PypiError, build_system, choose, download, metadata, project};
use crate::pyset::PythonSet;
use crate::requirement::{self, Requirement};

/// How far the packaging may reach.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Levels of requirements below the component's own.
    pub depth: usize,
    /// Packages generated at most.
    pub count: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            depth: 4,
            count: 16,
        }
    }
}

/// What could be packaged, and what not with the reason.
#[derive(Debug, Clone, Default)]
pub struct Packaged {
    /// Attribute → package, for every generated package.
    pub packages: BTreeMap<String, Package>,
    /// Requirement (as written) → why it was not packaged.
    pub refused: BTreeMap<String, String>,
}

/// Packages `missing` (requirements Home Assistant's set lacks) and, recursively, what they
/// need that the set lacks.
pub async fn package_missing(
    client: &reqwest::Client,
    index: &str,
    set: &PythonSet,
    missing: &[Requirement],
    limits: Limits,
) -> Packaged {
    let names = set.index();
    let mut out = Packaged::default();
    let mut queue: VecDeque<(Requirement, usize)> =
        missing.iter().map(|r| (r.clone(), 0)).collect();
    let mut queued: std::collections::BTreeSet<String> =
        missing.iter().map(|r| r.normalized.clone()).collect();
    while let Some((req, depth)) = queue.pop_front() {
        if out.packages.len() >= limits.count {
            out.refused.insert(
                req.raw.clone(),
                format!("more than {} packages would be generated", limits.count),
            );
            continue;
        }
        let package = match one(client, index, set, &req).await {
            Ok((package, requires)) => {
                let mut dependencies = Vec::new();
                for text in requires {
                    let Ok(dep) = requirement::parse(&text) else {
                        continue;
                    };
                    if let Some((attr, _)) = names.find(&dep.name) {
                        dependencies.push(attr.to_owned());
                        continue;
                    }
                    dependencies.push(dep.normalized.clone());
                    if queued.insert(dep.normalized.clone()) {
                        if depth + 1 > limits.depth {
                            out.refused.insert(
                                dep.raw.clone(),
                                format!("needed {} levels deep, beyond the limit", depth + 2),
                            );
                        } else {
                            queue.push_back((dep, depth + 1));
                        }
                    }
                }
                dependencies.sort();
                dependencies.dedup();
                Package {
                    dependencies,
                    ..package
                }
            }
            Err(reason) => {
                out.refused.insert(req.raw.clone(), reason);
                continue;
            }
        };
        out.packages.insert(package.attr.clone(), package);
    }
    // A package needing a refused one cannot be built either.
    loop {
        let broken: Vec<String> = out
            .packages
            .iter()
            .filter(|(_, p)| {
                p.dependencies
                    .iter()
                    .any(|d| names.find(d).is_none() && !out.packages.contains_key(d.as_str()))
            })
            .map(|(a, _)| a.clone())
            .collect();
        if broken.is_empty() {
            break;
        }
        for attr in broken {
            out.packages.remove(&attr);
            out.refused.insert(
                attr,
                "it needs a package that could not be packaged".to_owned(),
            );
        }
    }
    out
}

/// One requirement: chosen, downloaded, verified, read; with its own requirements.
async fn one(
    client: &reqwest::Client,
    index: &str,
    set: &PythonSet,
    req: &Requirement,
) -> Result<(Package, Vec<String>), String> {
    let text = |e: PypiError| e.to_string();
    let files = project(client, index, &req.normalized)
        .await
        .map_err(text)?;
    let chosen = choose(&files, req, &set.python_full).map_err(|e| e.to_string())?;
    let mut file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let digest = download(client, &chosen, file.as_file_mut())
        .await
        .map_err(text)?;
    let meta = metadata::read(
        file.path(),
        &chosen.file.filename,
        &req.extras,
        (&set.python, &set.python_full),
    )
    .map_err(|e| e.to_string())?;
    let build = if chosen.kind == super::Kind::PureWheel {
        Vec::new()
    } else {
        build_system(&meta)?
    };
    let (pname, extension) = spelling(&chosen.file.filename, &meta.version);
    if !crate::config::is_nix_identifier(&req.normalized) {
        return Err(format!(
            "`{}` cannot be a Nix attribute name",
            req.normalized
        ));
    }
    let package = Package {
        attr: req.normalized.clone(),
        pname,
        version: meta.version.clone(),
        extension,
        hash: digest.to_sri(),
        build_system: build,
        dependencies: Vec::new(),
        import_names: meta.import_names.clone(),
        summary: meta.summary.clone(),
        homepage: meta.homepage.clone(),
        license: meta.license.clone(),
    };
    Ok((package, meta.requires))
}

/// The name as the file spells it and its extension (`fetchPypi`'s `pname` and `extension`).
fn spelling(filename: &str, version: &str) -> (String, String) {
    if let Some(stem) = filename.strip_suffix(".whl") {
        let name = stem.split('-').next().unwrap_or(stem);
        return (name.to_owned(), "whl".to_owned());
    }
    for ext in ["tar.gz", "zip", "tar.bz2"] {
        if let Some(stem) = filename.strip_suffix(&format!(".{ext}")) {
            let name = stem
                .strip_suffix(&format!("-{version}"))
                .or_else(|| stem.rsplit_once('-').map(|(n, _)| n))
                .unwrap_or(stem);
            return (name.to_owned(), ext.to_owned());
        }
    }
    (filename.to_owned(), String::new())
}
