//! A loopback Python package index (PEP 691 JSON pages at `/simple/<project>/`, files at
//! `/files/<filename>`) serving sdists and wheels built here in the shapes real ones have.

use std::collections::BTreeMap;

use serde_json::json;

use super::craft::{dir, file, tar_gz};
use super::http::{Reply, Server};

/// An sdist to build.
#[derive(Clone, Default)]
pub struct Sdist {
    pub name: &'static str,
    pub version: &'static str,
    /// `Requires-Dist` lines of PKG-INFO.
    pub requires: Vec<&'static str>,
    /// `<name>.egg-info/requires.txt` (older setuptools sdists: PKG-INFO lists nothing).
    pub requires_txt: Option<&'static str>,
    /// `pyproject.toml`'s text, if any.
    pub pyproject: Option<&'static str>,
    pub setup_py: Option<&'static str>,
    /// Import packages (folders with `__init__.py`) at the top, or under `src/` when
    /// `src_layout`.
    pub packages: Vec<&'static str>,
    pub src_layout: bool,
    pub top_level_txt: bool,
    pub license: Option<&'static str>,
    pub summary: &'static str,
    /// More files of the source tree (path, text).
    pub extra_files: Vec<(&'static str, &'static str)>,
}

impl Sdist {
    /// The file name a modern build front end writes (`foo_bar-1.0.tar.gz`).
    pub fn filename(&self) -> String {
        format!(
            "{}-{}.tar.gz",
            self.name.replace(['-', '.'], "_"),
            self.version
        )
    }

    /// The sdist the index serves: built by its real backend (`support::pybuild::sdist`) from
    /// a source tree with these fields as `[project]`; only the old setuptools shape
    /// (`requires_txt`: PKG-INFO without `Requires-Dist`), which no backend at hand writes any
    /// more, is written here as such sdists are laid out.
    pub fn build(&self) -> Vec<u8> {
        if self.requires_txt.is_some() {
            return self.legacy();
        }
        let (name, bytes) = super::pybuild::sdist(&self.tree(), &self.backends());
        assert_eq!(name, self.filename(), "the backend names the sdist");
        bytes
    }

    /// [`Sdist::build`] with build helpers the set lacks installed (each a project whose
    /// wheel its own backend builds), as upstream had them when it made the sdist.
    pub fn build_with(&self, plugins: &[&Sdist]) -> Vec<u8> {
        let wheels: Vec<(String, Vec<u8>)> = plugins.iter().map(|p| p.build_wheel()).collect();
        let (name, bytes) = super::pybuild::sdist_with(&self.tree(), &self.backends(), &wheels);
        assert_eq!(name, self.filename(), "the backend names the sdist");
        bytes
    }

    /// The build requirements' names (`setuptools` when the project has no pyproject.toml).
    fn backends(&self) -> Vec<String> {
        let Some(text) = self.pyproject else {
            return vec!["setuptools".to_owned()];
        };
        let value: toml::Value = toml::from_str(text).unwrap();
        value["build-system"]["requires"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            // The fixtures' markers name only other systems.
            .filter(|r| !r.contains(';'))
            .map(|r| {
                let end = r
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                    .unwrap_or(r.len());
                r[..end].to_ascii_lowercase().replace(['_', '.'], "-")
            })
            .collect()
    }

    /// The same project as a wheel its backend builds.
    pub fn build_wheel(&self) -> (String, Vec<u8>) {
        super::pybuild::wheel(&self.tree(), &self.backends())
    }

    /// The project's source tree.
    fn tree(&self) -> Vec<(String, String)> {
        let quoted = |items: &[&str]| {
            items
                .iter()
                .map(|i| format!("{i:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let build = self.pyproject.unwrap_or(
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n",
        );
        let mut pyproject = format!(
            "{build}\n[project]\nname = {:?}\nversion = {:?}\ndescription = {:?}\ndependencies = [{}]\n",
            self.name,
            self.version,
            self.summary,
            quoted(&self.requires)
        );
        if let Some(license) = self.license {
            pyproject.push_str(&format!("license = {license:?}\n"));
        }
        pyproject.push_str(&format!(
            "[project.urls]\nHomepage = \"https://example.org/{}\"\n",
            self.name
        ));
        let mut tree = vec![("pyproject.toml".to_owned(), pyproject)];
        let base = if self.src_layout { "src/" } else { "" };
        for package in &self.packages {
            tree.push((
                format!("{base}{package}/__init__.py"),
                "VERSION = 1\n".to_owned(),
            ));
        }
        tree.push(("tests/__init__.py".to_owned(), String::new()));
        if let Some(text) = self.setup_py {
            tree.push(("setup.py".to_owned(), text.to_owned()));
        }
        for (path, text) in &self.extra_files {
            tree.push(((*path).to_owned(), (*text).to_owned()));
        }
        tree
    }

    fn legacy(&self) -> Vec<u8> {
        let top = format!("{}-{}", self.name.replace(['-', '.'], "_"), self.version);
        let mut info = format!(
            "Metadata-Version: 2.1\nName: {}\nVersion: {}\nSummary: {}\nHome-page: https://example.org/{}\n",
            self.name, self.version, self.summary, self.name
        );
        if let Some(license) = self.license {
            info.push_str(&format!("License-Expression: {license}\n"));
        }
        for r in &self.requires {
            info.push_str(&format!("Requires-Dist: {r}\n"));
        }
        info.push_str("\nA long description.\n");
        let mut members = vec![
            dir(&format!("{top}/")),
            file(&format!("{top}/PKG-INFO"), info.as_bytes()),
        ];
        let base = if self.src_layout {
            members.push(dir(&format!("{top}/src/")));
            format!("{top}/src")
        } else {
            top.clone()
        };
        for package in &self.packages {
            members.push(dir(&format!("{base}/{package}/")));
            members.push(file(
                &format!("{base}/{package}/__init__.py"),
                b"VERSION = 1\n",
            ));
        }
        members.push(dir(&format!("{top}/tests/")));
        members.push(file(&format!("{top}/tests/__init__.py"), b""));
        if self.requires_txt.is_some() || self.top_level_txt {
            let egg = format!("{base}/{}.egg-info", self.name.replace('-', "_"));
            members.push(dir(&format!("{egg}/")));
            members.push(file(&format!("{egg}/PKG-INFO"), info.as_bytes()));
            if let Some(text) = self.requires_txt {
                members.push(file(&format!("{egg}/requires.txt"), text.as_bytes()));
            }
            if self.top_level_txt {
                let names = self.packages.join("\n") + "\n";
                members.push(file(&format!("{egg}/top_level.txt"), names.as_bytes()));
            }
        }
        if let Some(text) = self.pyproject {
            members.push(file(&format!("{top}/pyproject.toml"), text.as_bytes()));
        }
        if let Some(text) = self.setup_py {
            members.push(file(&format!("{top}/setup.py"), text.as_bytes()));
        }
        tar_gz(&members)
    }
}

/// A pure-Python wheel (`py2.py3-none-any`, as flit-core tags it) of one package named for the project, built by its
/// real backend (flit-core), so that what is generated from it builds for real too.
pub fn wheel(name: &str, version: &str, requires: &[&str], packages: &[&str]) -> (String, Vec<u8>) {
    let module = name.replace(['-', '.'], "_");
    assert_eq!(
        packages,
        [module.as_str()],
        "flit-core builds one package named for the project"
    );
    // Sdist holds the static texts of the fixtures; these few are made once per test.
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let project = Sdist {
        name: leak(name),
        version: leak(version),
        requires: requires.iter().map(|r| leak(r)).collect(),
        pyproject: Some(
            "[build-system]\nrequires = [\"flit_core>=3.9\"]\nbuild-backend = \"flit_core.buildapi\"\n",
        ),
        packages: vec![leak(&module)],
        summary: leak(&format!("{name}, as a wheel")),
        ..Sdist::default()
    };
    let (file, bytes) = project.build_wheel();
    assert_eq!(file, format!("{module}-{version}-py2.py3-none-any.whl"));
    (file, bytes)
}

/// Home Assistant's Python set of the 2026 fixture, evaluated by real Nix.
pub fn fixture_set() -> hacs_nix::pyset::PythonSet {
    hacs_nix::pyset::evaluate(
        &hacs_nix::pyset::Nixpkgs::parse(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/nixpkgs/ha-2026"
        ))
        .unwrap(),
    )
    .unwrap()
}

/// Requirements the set lacks, each needed by `<by>: <requirement>`.
pub fn wanted(requirements: &[&str], by: &str) -> Vec<hacs_nix::pypi::resolve::Wanted> {
    requirements
        .iter()
        .map(|r| hacs_nix::pypi::resolve::Wanted {
            requirement: hacs_nix::requirement::parse(r).unwrap(),
            needed_by: format!("{by}: {r}"),
        })
        .collect()
}

/// One file on a project's page.
#[derive(Clone)]
pub struct Served {
    pub filename: String,
    pub bytes: Vec<u8>,
    pub requires_python: Option<&'static str>,
    pub yanked: bool,
}

impl Served {
    pub fn new(filename: String, bytes: Vec<u8>) -> Self {
        Self {
            filename,
            bytes,
            requires_python: None,
            yanked: false,
        }
    }
}

pub struct Index {
    pub server: Server,
    /// The base URL (`…/simple`).
    pub url: String,
    /// Every file served, by name.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Index {
    /// Requests for files (not pages) so far.
    pub fn file_requests(&self) -> usize {
        self.server
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.starts_with("/files/"))
            .count()
    }
}

/// Serves `projects` (PEP 503 name → files); file URLs relative to the page, as real indexes
/// may give them.
pub fn serve_index(projects: &[(&str, Vec<Served>)]) -> Index {
    serve_index_with_latency(projects, std::time::Duration::ZERO)
}

/// The same, each answer held back by `latency`.
pub fn serve_index_with_latency(
    projects: &[(&str, Vec<Served>)],
    latency: std::time::Duration,
) -> Index {
    let mut routes: Vec<(String, Reply)> = Vec::new();
    let mut files = BTreeMap::new();
    for (project, served) in projects {
        let mut page = Vec::new();
        for s in served {
            page.push(json!({
                "filename": s.filename,
                "url": format!("../../files/{}", s.filename),
                "hashes": { "sha256": hacs_nix::hash::Sha256Digest::of(&s.bytes).to_hex() },
                "requires-python": s.requires_python,
                "yanked": s.yanked,
            }));
            routes.push((format!("/files/{}", s.filename), Reply::Ok(s.bytes.clone())));
            files.insert(s.filename.clone(), s.bytes.clone());
        }
        routes.push((
            format!("/simple/{project}/"),
            Reply::Ok(
                json!({ "meta": { "api-version": "1.1" }, "name": project, "files": page })
                    .to_string()
                    .into_bytes(),
            ),
        ));
    }
    let borrowed: Vec<(&str, Reply)> = routes
        .iter()
        .map(|(p, r)| (p.as_str(), r.clone()))
        .collect();
    let server = super::http::serve_with_latency(borrowed, latency);
    let url = format!("{}/simple", server.base);
    Index { server, url, files }
}
