//! One checkout and one loopback GitHub for an end-to-end case: repositories with releases and
//! archives, `pkgs/components.toml`, the real binary, and the builder model on what it wrote.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use hacs_nix::pyset::{self, Nixpkgs};

use super::builder::{self, Built, Failed};
use super::github::{MockGitHub, Repo, info, release};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A manifest with every key hassfest wants.
pub fn manifest(domain: &str, version: &str, requirements: &[&str]) -> String {
    serde_json::json!({
        "domain": domain, "name": domain, "codeowners": [], "documentation": "https://example.org",
        "iot_class": "local_polling", "issue_tracker": "https://example.org/issues",
        "requirements": requirements, "version": version
    })
    .to_string()
}

/// A source archive `<domain>-1.0.0/` holding one integration whose manifest (version 1.0.0)
/// lists `requirements`.
pub fn source_component(domain: &str, requirements: &[&str]) -> Vec<u8> {
    use super::craft::{dir, file, tar_gz};
    let top = format!("{domain}-1.0.0");
    tar_gz(&[
        dir(&format!("{top}/")),
        file(
            &format!("{top}/custom_components/{domain}/manifest.json"),
            manifest(domain, "1.0.0", requirements).as_bytes(),
        ),
        file(
            &format!("{top}/custom_components/{domain}/__init__.py"),
            b"",
        ),
    ])
}

pub struct Case {
    pub mock: MockGitHub,
    /// Download path (as under `https://github.com`) → bytes.
    pub served: BTreeMap<String, Vec<u8>>,
    pub dir: tempfile::TempDir,
    next_commit: u8,
}

impl Default for Case {
    fn default() -> Self {
        Self::new()
    }
}

impl Case {
    /// An empty checkout with the 2026 fixture's Python set.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pkgs = dir.path().join("pkgs");
        std::fs::create_dir_all(&pkgs).unwrap();
        let set = pyset::evaluate(
            &Nixpkgs::parse(&format!("{ROOT}/tests/fixtures/nixpkgs/ha-2026")).unwrap(),
        )
        .unwrap();
        std::fs::write(pkgs.join("python-set.json"), set.to_json()).unwrap();
        Self {
            mock: MockGitHub::start(),
            served: BTreeMap::new(),
            dir,
            next_commit: 0,
        }
    }

    pub fn serve(&mut self, path: &str, bytes: Vec<u8>) {
        self.mock.add_download(path, bytes.clone());
        self.served.insert(path.to_owned(), bytes);
    }

    fn commit(&mut self) -> String {
        self.next_commit += 1;
        format!("{:040x}", u128::from(self.next_commit) * 0x1111)
    }

    /// A repository whose newest release `tag` is installed from its source archive.
    pub fn source_release(&mut self, repo: &str, tag: &str, description: &str, archive: Vec<u8>) {
        let sha = self.commit();
        self.mock.add_repo(
            repo,
            Repo {
                info: info(description, Some("MIT")),
                releases: vec![release(tag, false, false, &[])],
                commits: [(tag.to_owned(), sha.clone()), ("main".to_owned(), sha)].into(),
                ..Repo::default()
            },
        );
        self.serve(&format!("/{repo}/archive/refs/tags/{tag}.tar.gz"), archive);
    }

    /// A `zip_release` repository: hacs.json at the tag names the asset.
    pub fn zip_release(&mut self, repo: &str, tag: &str, asset: &str, zip: Vec<u8>) {
        let sha = self.commit();
        let hacs = format!(r#"{{"name":"x","zip_release":true,"filename":"{asset}"}}"#);
        self.mock.add_repo(
            repo,
            Repo {
                info: info("A zip release", Some("MIT")),
                releases: vec![release(tag, false, false, &[(asset, &zip, true)])],
                commits: [(tag.to_owned(), sha.clone()), ("main".to_owned(), sha)].into(),
                files: [((tag.to_owned(), "hacs.json".to_owned()), hacs.into_bytes())].into(),
            },
        );
        self.serve(&format!("/{repo}/releases/download/{tag}/{asset}"), zip);
    }

    /// A card or theme repository: release assets (name, bytes), the tag's source files (also
    /// readable through the API, so its folders can be listed), hacs.json. Returns the tag's
    /// source archive.
    pub fn frontend_repo(
        &mut self,
        repo: &str,
        tag: &str,
        assets: &[(&str, &[u8])],
        files: &[(&str, &str)],
        hacs: Option<&str>,
    ) -> Vec<u8> {
        use super::craft::{dir, file, tar_gz};
        let top = format!(
            "{}-{}",
            repo.rsplit('/').next().unwrap(),
            tag.trim_start_matches('v')
        );
        let mut members = vec![dir(&format!("{top}/"))];
        for (path, text) in files {
            members.push(file(&format!("{top}/{path}"), text.as_bytes()));
        }
        let archive = tar_gz(&members);
        let sha = format!("{:040x}", repo.len() * 7919 + tag.len());
        let mut r = Repo {
            info: info(&format!("The {repo} card"), Some("MIT")),
            releases: vec![release(
                tag,
                false,
                false,
                &assets
                    .iter()
                    .map(|(n, b)| (*n, *b, true))
                    .collect::<Vec<_>>(),
            )],
            commits: [(tag.to_owned(), sha.clone()), ("main".to_owned(), sha)].into(),
            ..Repo::default()
        };
        for (path, text) in files {
            r.files.insert(
                (tag.to_owned(), (*path).to_owned()),
                text.as_bytes().to_vec(),
            );
        }
        if let Some(h) = hacs {
            r.files.insert(
                (tag.to_owned(), "hacs.json".to_owned()),
                h.as_bytes().to_vec(),
            );
        }
        self.mock.add_repo(repo, r);
        for (name, bytes) in assets {
            self.serve(
                &format!("/{repo}/releases/download/{tag}/{name}"),
                bytes.to_vec(),
            );
        }
        self.serve(
            &format!("/{repo}/archive/refs/tags/{tag}.tar.gz"),
            archive.clone(),
        );
        archive
    }

    pub fn want(&self, components_toml: &str) {
        std::fs::write(
            self.dir.path().join("pkgs/components.toml"),
            components_toml,
        )
        .unwrap();
    }

    pub fn pkgs(&self) -> std::path::PathBuf {
        self.dir.path().join("pkgs")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        xtask(self.dir.path(), &self.mock, args)
    }

    /// The builder model on `pkgs/<attr>/default.nix`.
    pub fn build(&self, attr: &str) -> Result<Built, Failed> {
        builder::build(self.dir.path(), attr, &|url| {
            let path = url.strip_prefix("https://github.com")?;
            self.served.get(path).cloned()
        })
    }
}

/// A Python index nothing answers on (the discard port of the loopback): tests never reach the
/// real index unless they serve one of their own.
pub const NO_PYTHON_INDEX: &str = "http://127.0.0.1:9/simple";

/// `program` set up for a checkout and a loopback GitHub: API and download bases, its own cache,
/// no token, no colour, and no Python index (a test serving one sets `HACS_NIX_PYTHON_INDEX`).
pub fn command(program: &str, dir: &Path, mock: &MockGitHub) -> Command {
    let mut command = Command::new(program);
    let (lists, data) = mock.catalogue_urls();
    command
        .current_dir(dir)
        .env("HACS_NIX_HACS_LISTS", lists)
        .env("HACS_NIX_HACS_DATA", data)
        .env("HACS_NIX_GITHUB_API", &mock.api)
        .env("HACS_NIX_GITHUB_DOWNLOAD", &mock.download)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("HACS_NIX_PYTHON_INDEX", NO_PYTHON_INDEX)
        .env_remove("GITHUB_TOKEN")
        .env_remove("GH_TOKEN")
        .env("NO_COLOR", "1");
    command
}

/// The binary, run to its end.
pub fn xtask(dir: &Path, mock: &MockGitHub, args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_hacs-nix"), dir, mock)
        .args(args)
        .output()
        .unwrap()
}

/// What a run printed, for assertion messages.
pub fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A flake.lock whose `nixpkgs` input is the folder `nixpkgs` (a `path` input).
pub fn path_flake_lock(nixpkgs: &str) -> String {
    serde_json::json!({
        "nodes": {
            "nixpkgs": { "locked": { "type": "path", "path": nixpkgs } },
            "root": { "inputs": { "nixpkgs": "nixpkgs" } }
        },
        "root": "root", "version": 7
    })
    .to_string()
}
