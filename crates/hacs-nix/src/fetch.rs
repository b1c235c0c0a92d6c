//! One component from GitHub to a pin: choose the release as HACS would, read `hacs.json` at
//! that tag, take the release asset (`zip_release`) or the tag's source archive, download it
//! (verified), and hash it as fetchzip will. A component whose release and commit match its
//! previous pin is not downloaded again. Many components run with bounded concurrency.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::archive::{self, ArchiveError, UnpackOptions};
use crate::download::Progress;
use crate::forge::{BATCH, Choice, Chosen, Discovery, ForgeError, GitHub, RepoId, RepoInfo};
use crate::hash::Sha256Digest;
use crate::manifest::{self, HacsJson};
use crate::nar::{self, NarError};
use crate::tree::Tree;

/// Which artifact to pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourcePreference {
    /// What HACS installs: the `zip_release` asset when hacs.json says so, else the source archive.
    #[default]
    Auto,
    ReleaseAsset,
    SourceArchive,
}

/// How Nix fetches the pinned artifact (spelled as the Nix function in the lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fetcher {
    /// `fetchFromGitHub` (a source archive, root stripped).
    #[serde(rename = "fetchFromGitHub")]
    FetchFromGitHub,
    /// `fetchzip { stripRoot = false; }` of a release asset.
    Fetchzip,
}

/// What a lock entry remembers of the fetched artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub version: String,
    pub commit: String,
    /// The canonical URL Nix fetches.
    pub url: String,
    pub fetcher: Fetcher,
    /// fetchzip's `stripRoot` (always true for `fetchFromGitHub`).
    pub strip_root: bool,
    /// The fetchzip (NAR) hash, SRI.
    pub hash: String,
}

#[derive(Debug, Error)]
pub enum FetchError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error("{url}: {source}")]
    Archive { url: String, source: ArchiveError },
    #[error("release {tag} has no asset `{filename}`, which hacs.json's `zip_release` names")]
    MissingAsset { tag: String, filename: String },
    #[error(
        "release-asset pinning was asked for, but {repo} has no release with a zip asset (looked for a name ending in `.zip` among: {seen})"
    )]
    NoReleaseAsset { repo: String, seen: String },
    #[error(
        "the asset `{name}` of release {tag} has the digest `{digest}` on GitHub, which is not `sha256:<64 hex digits>`: it cannot be verified"
    )]
    BadDigest {
        tag: String,
        name: String,
        digest: String,
    },
    #[error(
        "{url} is named as a {named} but is a {content}: nixpkgs picks the unpacker by the name, so the build would fail"
    )]
    NameContent {
        url: String,
        named: &'static str,
        content: &'static str,
    },
    #[error("{0}")]
    Io(String),
    /// What was downloaded cannot be pinned (it does not unpack, or its name lies); `pin` names
    /// the release and URL (without a hash), so a survey can remember the verdict by release.
    #[error("{source}")]
    Unpinnable {
        pin: Box<Pin>,
        source: Box<FetchError>,
    },
}

impl FetchError {
    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::Forge(e) => e.rule_id(),
            Self::Archive { source, .. } => source.rule_id(),
            Self::MissingAsset { .. } | Self::NoReleaseAsset { .. } => "release-asset-missing",
            Self::BadDigest { .. } => "download-digest-invalid",
            Self::NameContent { .. } => "download-name-content",
            Self::Io(_) => "io",
            Self::Unpinnable { source, .. } => source.rule_id(),
        }
    }
}

/// What to fetch.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub repo: RepoId,
    pub choice: Choice,
    pub source: SourcePreference,
    /// The current pin, to skip the download when nothing changed upstream.
    pub previous: Option<Pin>,
}

/// What was fetched.
#[derive(Debug)]
pub struct Fetched {
    pub repo: RepoId,
    pub chosen: Chosen,
    pub info: RepoInfo,
    /// hacs.json at the tag, when the repository has one.
    pub hacs_json: Option<Vec<u8>>,
    pub pin: Pin,
    /// The unpacked tree, for validation; `None` when the previous pin was kept unchanged.
    pub tree: Option<Tree>,
    /// True when the release asset's digest from GitHub was checked against the bytes.
    pub digest_verified: bool,
}

impl Fetched {
    pub fn unchanged(&self) -> bool {
        self.tree.is_none()
    }
}

/// One component over REST: the release chosen, then [`fetch_discovered`].
pub async fn fetch(
    github: &GitHub,
    request: &FetchRequest,
    progress: &dyn Progress,
) -> Result<Fetched, FetchError> {
    let (chosen, info, hacs_json) = github
        .choose_with_file(&request.repo, &request.choice, "hacs.json")
        .await?;
    let discovery = Discovery {
        chosen,
        info,
        hacs_json,
    };
    fetch_discovered(github, request, discovery, false, progress).await
}

/// One component whose release is chosen already (over REST, or in a GraphQL batch when
/// `batched`: then the chosen asset's digest is read over REST, as GraphQL does not give it).
pub async fn fetch_discovered(
    github: &GitHub,
    request: &FetchRequest,
    discovery: Discovery,
    batched: bool,
    progress: &dyn Progress,
) -> Result<Fetched, FetchError> {
    let repo = &request.repo;
    let Discovery {
        mut chosen,
        info,
        hacs_json,
    } = discovery;
    let hacs: Option<HacsJson> = hacs_json
        .as_deref()
        .and_then(|b| manifest::check_hacs_json("hacs.json", b).value);

    let zip_asset = hacs
        .as_ref()
        .filter(|h| h.zip_release)
        .and_then(|h| h.filename.clone());
    let use_asset = match request.source {
        SourcePreference::SourceArchive => None,
        SourcePreference::Auto => zip_asset,
        SourcePreference::ReleaseAsset => {
            let assets = chosen.release.as_ref().map(|r| r.assets.as_slice());
            let zip = assets
                .unwrap_or_default()
                .iter()
                .find(|a| a.name.ends_with(".zip"));
            match (zip_asset, zip) {
                (Some(name), _) => Some(name),
                (None, Some(asset)) => Some(asset.name.clone()),
                (None, None) => {
                    let seen: Vec<String> = assets
                        .unwrap_or_default()
                        .iter()
                        .map(|a| format!("`{}`", a.name))
                        .collect();
                    return Err(FetchError::NoReleaseAsset {
                        repo: repo.to_string(),
                        seen: if seen.is_empty() {
                            "no assets".to_owned()
                        } else {
                            seen.join(", ")
                        },
                    });
                }
            }
        }
    };
    if batched
        && use_asset.is_some()
        && let Some(release) = &mut chosen.release
    {
        let full = github.release_by_tag(repo, &release.tag_name).await?;
        release.assets = full.assets;
    }
    let (url, fetcher, asset) = match use_asset {
        Some(filename) => {
            let asset = chosen
                .release
                .as_ref()
                .and_then(|r| r.assets.iter().find(|a| a.name == filename))
                .cloned()
                .ok_or_else(|| FetchError::MissingAsset {
                    tag: chosen.reference.clone(),
                    filename: filename.clone(),
                })?;
            (
                GitHub::asset_url(repo, &chosen.reference, &filename),
                Fetcher::Fetchzip,
                Some(asset),
            )
        }
        None => (
            GitHub::source_archive_url(repo, &chosen),
            Fetcher::FetchFromGitHub,
            None,
        ),
    };

    if let Some(previous) = &request.previous
        && previous.url == url
        && previous.commit == chosen.commit
        && previous.fetcher == fetcher
    {
        let pin = previous.clone();
        return Ok(Fetched {
            repo: repo.clone(),
            chosen,
            info,
            hacs_json,
            pin,
            tree: None,
            digest_verified: false,
        });
    }

    let mut file = tempfile::tempfile()
        .map_err(|e| FetchError::Io(format!("cannot create a temporary file: {e}")))?;
    let expected_digest = match &asset {
        Some(a) => a.sha256().map_err(|digest| FetchError::BadDigest {
            tag: chosen.reference.clone(),
            name: a.name.clone(),
            digest,
        })?,
        None => None,
    };
    github
        .download(
            &url,
            asset.as_ref().map(|a| a.size),
            expected_digest,
            &mut file,
            progress,
        )
        .await?;

    let unpinnable = |source: FetchError| FetchError::Unpinnable {
        pin: Box::new(Pin {
            version: chosen.version.clone(),
            commit: chosen.commit.clone(),
            url: url.clone(),
            fetcher,
            strip_root: fetcher == Fetcher::FetchFromGitHub,
            hash: String::new(),
        }),
        source: Box::new(source),
    };
    check_name_against_content(&url, &mut file).map_err(unpinnable)?;
    // Unpacking and hashing are CPU work: off the async threads, so downloads keep flowing.
    let strip_root = fetcher == Fetcher::FetchFromGitHub;
    let (tree, hash) =
        tokio::task::spawn_blocking(move || -> Result<(Tree, Sha256Digest), ArchiveError> {
            let options = UnpackOptions {
                strip_root,
                ..UnpackOptions::default()
            };
            let (_, mut tree) = archive::unpack(Box::new(file), &options)?;
            let hash = nar::hash_tree(&mut tree).map_err(|e| match e {
                NarError::Archive(a) => a,
                other => ArchiveError::Corrupt {
                    detail: other.to_string(),
                },
            })?;
            Ok((tree, hash))
        })
        .await
        .map_err(|e| FetchError::Io(format!("the hashing task failed: {e}")))?
        .map_err(|source| {
            unpinnable(FetchError::Archive {
                url: url.clone(),
                source,
            })
        })?;

    let pin = Pin {
        version: chosen.version.clone(),
        commit: chosen.commit.clone(),
        url,
        fetcher,
        strip_root,
        hash: hash.to_sri(),
    };
    Ok(Fetched {
        repo: repo.clone(),
        chosen,
        info,
        hacs_json,
        pin,
        tree: Some(tree),
        digest_verified: expected_digest.is_some(),
    })
}

/// stdenv's `unpackFile` chooses `unzip` for a `.zip` name and tar otherwise; we read the
/// content, so a name and a content that disagree would hash here and fail there.
fn check_name_against_content(url: &str, file: &mut std::fs::File) -> Result<(), FetchError> {
    use std::io::{Read, Seek};
    let mut head = [0u8; 4];
    let read = file
        .rewind()
        .and_then(|()| file.read(&mut head))
        .and_then(|n| file.rewind().map(|()| n))
        .map_err(|e| FetchError::Io(format!("cannot read the download: {e}")))?;
    let is_zip = head[..read].starts_with(b"PK");
    let named_zip = url
        .rsplit('/')
        .next()
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".zip"));
    match (named_zip, is_zip) {
        (true, false) => Err(FetchError::NameContent {
            url: url.to_owned(),
            named: "zip",
            content: "tarball or other file",
        }),
        (false, true) => Err(FetchError::NameContent {
            url: url.to_owned(),
            named: "tarball",
            content: "zip",
        }),
        _ => Ok(()),
    }
}

/// Fetches many components, at most `jobs` at a time, and hands each to `finish` while its
/// tree is in memory: the tree (and, for a zip, its open file) is dropped before the worker
/// takes the next component, so memory and open files stay bounded whatever the count.
/// Results come as they complete, each with its index in `requests`; one slow repository holds
/// back nothing but its own slot.
pub fn fetch_each<'a, P, B, F, T>(
    github: &'a GitHub,
    requests: &'a [FetchRequest],
    jobs: usize,
    progress: &'a P,
    finish: &'a F,
) -> impl futures_util::Stream<Item = (usize, T)> + 'a
where
    P: Fn(&RepoId) -> B,
    B: Progress + 'a,
    F: Fn(usize, Result<Fetched, FetchError>) -> T,
    T: 'a,
{
    // With a token, releases are discovered 50 repositories a GraphQL request, one batch at a
    // time as the workers need more: discovery stays ahead of the downloads, never the whole
    // list in memory. Batches are discovered one after another, so a missing endpoint is
    // asked once.
    futures_util::stream::iter(requests.chunks(BATCH).enumerate())
        .then(move |(batch, chunk)| async move {
            // Asked per batch: a GraphQL endpoint found missing turns it off for the rest.
            let discovered: Vec<Option<Result<Discovery, ForgeError>>> = if github.uses_graphql() {
                let wanted: Vec<(RepoId, Choice)> = chunk
                    .iter()
                    .map(|r| (r.repo.clone(), r.choice.clone()))
                    .collect();
                github
                    .discover(&wanted)
                    .await
                    .into_iter()
                    .map(Some)
                    .collect()
            } else {
                chunk.iter().map(|_| None).collect()
            };
            futures_util::stream::iter(
                chunk
                    .iter()
                    .zip(discovered)
                    .enumerate()
                    .map(move |(i, (request, d))| (batch * BATCH + i, request, d)),
            )
        })
        .flatten()
        .map(move |(index, request, discovered)| async move {
            let bar = progress(&request.repo);
            let fetched = match discovered {
                Some(Ok(discovery)) => {
                    fetch_discovered(github, request, discovery, true, &bar).await
                }
                // No GraphQL on this server: this batch, too, goes over REST.
                Some(Err(ForgeError::GraphqlUnavailable { .. })) | None => {
                    fetch(github, request, &bar).await
                }
                Some(Err(e)) => Err(FetchError::Forge(e)),
            };
            (index, finish(index, fetched))
        })
        .buffer_unordered(jobs.max(1))
}

/// [`fetch_each`] with the fetched components themselves, in the order asked (trees kept: for
/// a handful of components and for tests).
pub async fn fetch_all<P, B>(
    github: &GitHub,
    requests: &[FetchRequest],
    jobs: usize,
    progress: P,
) -> Vec<Result<Fetched, FetchError>>
where
    P: Fn(&RepoId) -> B,
    B: Progress,
{
    let keep = |_: usize, fetched| fetched;
    let mut results: Vec<(usize, Result<Fetched, FetchError>)> =
        fetch_each(github, requests, jobs, &progress, &keep)
            .collect()
            .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}
