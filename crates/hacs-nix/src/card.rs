//! One Lovelace card from GitHub to a pin: the release chosen as HACS would, then the files
//! HACS installs ([`crate::plugin::locate`]): the release's assets (each pinned with its flat
//! hash, for `fetchurl`), or the tag's root or `dist/` files (the source archive pinned with
//! its NAR hash, for `fetchFromGitHub`). Hard-coded HACS paths in the files are found so the
//! derivation can point them at where the NixOS module serves the card.

use std::io::Read;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::archive::{self, UnpackOptions};
use crate::forge::{Choice, ForgeError, GitHub, RepoId};
use crate::lock::Meta;
use crate::manifest::{self, HacsJson};
use crate::plugin::{self, CardSource, HardCoded, NoCard};
use crate::tree::{Node, Tree};

/// A pinned card, as the lock keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardEntry {
    pub repo: String,
    pub version: String,
    pub commit: String,
    /// The card's file: at the top of `$out`, and `passthru.entrypoint`.
    pub entry: String,
    pub files: CardFiles,
    /// Hard-coded HACS paths rewritten to the card's folder under the module's URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<HardCoded>,
    pub meta: Meta,
}

/// Where the card's files come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum CardFiles {
    /// Every asset of the release, each fetched alone.
    ReleaseAssets { assets: Vec<PinnedFile> },
    /// Files of one folder (`""`: the root, or `dist`) of the tag's source archive.
    SourceArchive {
        url: String,
        /// `tag` or `rev`, as `fetchFromGitHub` takes it.
        is_tag: bool,
        reference: String,
        hash: String,
        folder: String,
        files: Vec<String>,
    },
}

/// A file fetched as it is (`fetchurl`), with its flat hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedFile {
    pub name: String,
    pub url: String,
    pub hash: String,
}

impl CardEntry {
    /// The folder of `$out` (and of NixOS's served folder) the card's files go to.
    pub fn folder(&self) -> String {
        card_folder(self.repo.rsplit('/').next().unwrap_or_default())
    }

    /// Every file name the card installs (the entry included).
    pub fn file_names(&self) -> Vec<&str> {
        match &self.files {
            CardFiles::ReleaseAssets { assets } => assets.iter().map(|a| a.name.as_str()).collect(),
            CardFiles::SourceArchive { files, .. } => files.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Error)]
pub enum CardError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    NoCard(#[from] NoCard),
    #[error("{url}: {source}")]
    Archive {
        url: String,
        source: archive::ArchiveError,
    },
    #[error(
        "`{0}` cannot be a file name in the card's folder (a path, `.`, `..` or a control character)"
    )]
    BadName(String),
    #[error("{0}")]
    Io(String),
}

impl CardError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Forge(e) => e.rule_id(),
            Self::NoCard(e) => e.rule_id(),
            Self::Archive { source, .. } => source.rule_id(),
            Self::BadName(_) => "plugin-file-name",
            Self::Io(_) => "io",
        }
    }
}

/// A name that becomes one file in `$out`: no path, nothing special.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_control)
}

/// A release to pin, the repository's facts and `hacs.json` at its tag.
pub(crate) type Release = (
    crate::forge::Chosen,
    crate::forge::RepoInfo,
    Option<HacsJson>,
);

/// The release HACS would install for a card or a theme, the repository's facts and
/// `hacs.json` at its tag; `None` when it is the one `previous` (repository, commit) pins
/// already.
pub(crate) async fn choose(
    github: &GitHub,
    repo: &RepoId,
    choice: &Choice,
    previous: Option<(&String, &String)>,
) -> Result<Option<Release>, ForgeError> {
    let (chosen, info, hacs_json) = github.choose_with_file(repo, choice, "hacs.json").await?;
    if previous.is_some_and(|(r, commit)| *commit == chosen.commit && *r == repo.to_string()) {
        return Ok(None);
    }
    let hacs = hacs_json
        .as_deref()
        .and_then(|b| manifest::check_hacs_json("hacs.json", b).value);
    Ok(Some((chosen, info, hacs)))
}

/// Pins `repo` as a card; `previous` is kept without a download when the release's commit is
/// the same. Returns the entry and whether anything was downloaded.
pub async fn pin_card(
    github: &GitHub,
    repo: &RepoId,
    choice: &Choice,
    previous: Option<&CardEntry>,
) -> Result<(CardEntry, bool), CardError> {
    let (chosen, info, hacs) =
        match choose(github, repo, choice, previous.map(|p| (&p.repo, &p.commit))).await? {
            None => {
                return previous
                    .cloned()
                    .map(|p| (p, false))
                    .ok_or(CardError::Io("no previous pin".to_owned()));
            }
            Some((chosen, info, hacs)) => (chosen, info, hacs),
        };
    let assets: Option<Vec<String>> = chosen
        .release
        .as_ref()
        .map(|r| r.assets.iter().map(|a| a.name.clone()).collect());
    let meta = Meta::from_github(repo, &info, &chosen);
    let located = plugin::locate(&repo.repo, hacs.as_ref(), assets.as_deref(), &[]);
    let (entry, files, contents) = match located {
        Ok(CardSource::ReleaseAssets { entry, files }) => {
            let release = chosen
                .release
                .as_ref()
                .ok_or_else(|| CardError::Io("no release".to_owned()))?;
            let mut pinned = Vec::new();
            let mut contents = Vec::new();
            for asset in &release.assets {
                if !valid_file_name(&asset.name) {
                    return Err(CardError::BadName(asset.name.clone()));
                }
                let url = GitHub::asset_url(repo, &release.tag_name, &asset.name);
                let digest = asset.sha256().map_err(|d| {
                    CardError::Io(format!(
                        "asset `{}` has the digest `{d}`, which is not sha256:<hex>",
                        asset.name
                    ))
                })?;
                let mut file = tempfile::tempfile().map_err(|e| CardError::Io(e.to_string()))?;
                let (_, sha) = github
                    .download(&url, Some(asset.size), digest, &mut file, &())
                    .await?;
                pinned.push(PinnedFile {
                    name: asset.name.clone(),
                    url,
                    hash: sha.to_sri(),
                });
                if asset.name.ends_with(".js") {
                    let mut bytes = Vec::new();
                    std::io::Seek::rewind(&mut file).map_err(|e| CardError::Io(e.to_string()))?;
                    file.read_to_end(&mut bytes)
                        .map_err(|e| CardError::Io(e.to_string()))?;
                    contents.push((asset.name.clone(), bytes));
                }
            }
            debug_assert_eq!(files.len(), pinned.len());
            (entry, CardFiles::ReleaseAssets { assets: pinned }, contents)
        }
        _ => {
            let (mut tree, hash, url) = source_tree(github, repo, &chosen).await?;
            let paths = file_paths(&tree);
            let source = plugin::locate(&repo.repo, hacs.as_ref(), assets.as_deref(), &paths)?;
            let (folder, entry, names) = match source {
                CardSource::Root { entry, files } => (String::new(), entry, files),
                CardSource::Dist { entry, files } => ("dist".to_owned(), entry, files),
                CardSource::ReleaseAssets { .. } => {
                    return Err(CardError::Io("unexpected release asset".to_owned()));
                }
            };
            // Only the folder's own files (not its subfolders) are the card's.
            let names: Vec<String> = names.into_iter().filter(|n| valid_file_name(n)).collect();
            let contents = scripts_of(&mut tree, &folder, &names, &url)?;
            let files = CardFiles::SourceArchive {
                url,
                is_tag: chosen.is_tag,
                reference: chosen.reference.clone(),
                hash,
                folder,
                files: names,
            };
            (entry, files, contents)
        }
    };
    let rewrites = plugin::hard_coded_paths(&repo.repo, &card_folder(&repo.repo), &contents);
    Ok((
        CardEntry {
            repo: repo.to_string(),
            version: chosen.version.clone(),
            commit: chosen.commit.clone(),
            entry,
            files,
            rewrites,
            meta,
        },
        true,
    ))
}

/// The tag's source archive, downloaded and unpacked as `fetchFromGitHub` unpacks it: the
/// tree, its NAR hash (SRI) and the canonical URL.
pub(crate) async fn source_tree(
    github: &GitHub,
    repo: &RepoId,
    chosen: &crate::forge::Chosen,
) -> Result<(Tree, String, String), CardError> {
    let url = GitHub::source_archive_url(repo, chosen);
    let mut file = tempfile::tempfile().map_err(|e| CardError::Io(e.to_string()))?;
    github.download(&url, None, None, &mut file, &()).await?;
    std::io::Seek::rewind(&mut file).map_err(|e| CardError::Io(e.to_string()))?;
    let options = UnpackOptions {
        strip_root: true,
        ..UnpackOptions::default()
    };
    let (_, mut tree) =
        archive::unpack(Box::new(file), &options).map_err(|source| CardError::Archive {
            url: url.clone(),
            source,
        })?;
    let hash = crate::nar::hash_tree(&mut tree).map_err(|e| CardError::Io(e.to_string()))?;
    Ok((tree, hash.to_sri(), url))
}

/// The card's scripts (`name`, bytes) under `folder`, read for the path rewrite. A file the
/// listing named that cannot be read fails the pin: skipping it would leave its imports
/// unrewritten and the card broken in the browser.
fn scripts_of(
    tree: &mut Tree,
    folder: &str,
    names: &[String],
    url: &str,
) -> Result<Vec<(String, Vec<u8>)>, CardError> {
    let mut contents = Vec::new();
    for name in names.iter().filter(|n| n.ends_with(".js")) {
        let path = if folder.is_empty() {
            name.clone()
        } else {
            format!("{folder}/{name}")
        };
        match tree.read_file(&path) {
            Ok(Some(bytes)) => contents.push((name.clone(), bytes)),
            Ok(None) => {
                return Err(CardError::Io(format!(
                    "{url}: `{path}` is listed but not a file of the archive; nothing was pinned"
                )));
            }
            Err(e) => {
                return Err(CardError::Io(format!(
                    "{url}: cannot read `{path}` of the archive: {e}; nothing was pinned"
                )));
            }
        }
    }
    Ok(contents)
}

/// The card's folder in `$out` (and under the module's URL): its repository's name without
/// `lovelace-`, so two cards cannot collide.
pub fn card_folder(repo_name: &str) -> String {
    repo_name.trim_start_matches("lovelace-").to_owned()
}

fn walk(node: &Node, prefix: &str, out: &mut Vec<String>) {
    match node {
        Node::Directory(entries) => {
            for (name, child) in entries {
                let name = String::from_utf8_lossy(name);
                let path = if prefix.is_empty() {
                    name.into_owned()
                } else {
                    format!("{prefix}/{name}")
                };
                walk(child, &path, out);
            }
        }
        Node::File(_) => out.push(prefix.to_owned()),
        Node::Symlink { .. } => {}
    }
}

/// The paths of a tree's files (for tests and `check`).
pub fn file_paths(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    walk(tree.root(), "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::tree::{Blob, BlobId, Contents, FileNode, Node};

    /// A tree whose card script's bytes are gone (its spill file lost): the pin fails with the
    /// file's name, where the rewrite used to skip it silently.
    #[test]
    fn an_unreadable_script_fails_the_pin() {
        let mut entries = crate::tree::Entries::new();
        let file = |blob| {
            Node::File(FileNode {
                executable: false,
                size: 4,
                blob: BlobId(blob),
            })
        };
        entries.insert(b"card.js".to_vec(), file(0));
        entries.insert(b"chunk.js".to_vec(), file(1));
        let mut contents = Contents::new(None);
        contents.push(Blob::Memory(b"ok()".to_vec().into_boxed_slice()));
        contents.push(Blob::Spilled { offset: 0, len: 4 });
        let mut tree = Tree::new(Node::Directory(entries), contents, Vec::new());
        let names = vec!["card.js".to_owned(), "chunk.js".to_owned()];
        let err = scripts_of(&mut tree, "", &names, "https://x/a.tar.gz").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("cannot read `chunk.js`"), "{text}");
        assert_eq!(err.rule_id(), "io");
        // Listed but missing is an error too.
        let names = vec!["card.js".to_owned(), "gone.js".to_owned()];
        let text = scripts_of(&mut tree, "", &names, "u")
            .unwrap_err()
            .to_string();
        assert!(text.contains("`gone.js` is listed"), "{text}");
        let ok = scripts_of(&mut tree, "", &names[..1], "u").unwrap();
        assert_eq!(ok, vec![("card.js".to_owned(), b"ok()".to_vec())]);
    }
}
