//! Pinning a card: the files HACS installs, each asset with its flat hash or the source
//! archive with its NAR hash, and the hard-coded HACS paths found in its scripts.

use std::io::Read;

use super::rule::{self, CardSource};
use super::{CardEntry, CardError, CardFiles, PinnedFile, card_folder};
use crate::forge::{Choice, Chosen, GitHub, RepoId};
use crate::manifest::HacsJson;
use crate::meta::Meta;
use crate::names::valid_file_name;
use crate::release_source::{Next, choose, source_tree};
use crate::tree::Tree;

/// Pins `repo` as a card; `previous` is kept without a download when the release's commit is
/// the same. Returns the entry and whether anything was downloaded.
pub async fn pin_card(
    github: &GitHub,
    repo: &RepoId,
    choice: &Choice,
    previous: Option<&CardEntry>,
) -> Result<(CardEntry, bool), CardError> {
    let (chosen, info, hacs) = match choose(github, repo, choice, previous).await? {
        Next::Keep(previous) => return Ok((previous, false)),
        Next::Pin(release) => *release,
    };
    let assets: Option<Vec<String>> = chosen
        .release
        .as_ref()
        .map(|r| r.assets.iter().map(|a| a.name.clone()).collect());
    let located = rule::locate(&repo.repo, hacs.as_ref(), assets.as_deref(), &[]);
    let (entry, files, contents) = match located {
        Ok(CardSource::ReleaseAssets { entry, .. }) => {
            let (files, contents) = pin_assets(github, repo, &chosen).await?;
            (entry, files, contents)
        }
        _ => pin_from_source(github, repo, &chosen, hacs.as_ref(), assets.as_deref()).await?,
    };
    let rewrites = rule::hard_coded_paths(&repo.repo, &card_folder(&repo.repo), &contents);
    let entry = CardEntry {
        repo: repo.to_string(),
        version: chosen.version.clone(),
        commit: chosen.commit.clone(),
        entry,
        files,
        rewrites,
        meta: Meta::from_github(repo, &info, &chosen),
    };
    entry.check().map_err(CardError::Io)?;
    Ok((entry, true))
}

/// A card's scripts (`name`, bytes), read for the path rewrite.
type Scripts = Vec<(String, Vec<u8>)>;

/// Every asset of the release, each downloaded against its digest and pinned with its flat
/// hash, as HACS downloads them all with the card.
async fn pin_assets(
    github: &GitHub,
    repo: &RepoId,
    chosen: &Chosen,
) -> Result<(CardFiles, Scripts), CardError> {
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
        if asset.name.ends_with(".js") {
            let mut bytes = Vec::new();
            std::io::Seek::rewind(&mut file).map_err(|e| CardError::Io(e.to_string()))?;
            file.read_to_end(&mut bytes)
                .map_err(|e| CardError::Io(e.to_string()))?;
            contents.push((asset.name.clone(), bytes));
        }
        pinned.push(PinnedFile {
            name: asset.name.clone(),
            url,
            hash: sha.to_sri(),
        });
    }
    Ok((CardFiles::ReleaseAssets { assets: pinned }, contents))
}

/// The card from the tag's root or `dist/`: the source archive pinned with its NAR hash, the
/// folder's own files (not its sub-folders) installed.
async fn pin_from_source(
    github: &GitHub,
    repo: &RepoId,
    chosen: &Chosen,
    hacs: Option<&HacsJson>,
    assets: Option<&[String]>,
) -> Result<(String, CardFiles, Scripts), CardError> {
    let (mut tree, hash, url) = source_tree(github, repo, chosen).await?;
    let source = rule::locate(&repo.repo, hacs, assets, &tree.file_paths())?;
    let (folder, entry, names) = match source {
        CardSource::Root { entry, files } => (String::new(), entry, files),
        CardSource::Dist { entry, files } => ("dist".to_owned(), entry, files),
        CardSource::ReleaseAssets { .. } => {
            return Err(CardError::Io("unexpected release asset".to_owned()));
        }
    };
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
    Ok((entry, files, contents))
}

/// The card's scripts (`name`, bytes) under `folder`, read for the path rewrite. A file the
/// listing named that cannot be read fails the pin: skipping it would leave its imports
/// unrewritten and the card broken in the browser.
fn scripts_of(
    tree: &mut Tree,
    folder: &str,
    names: &[String],
    url: &str,
) -> Result<Scripts, CardError> {
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
