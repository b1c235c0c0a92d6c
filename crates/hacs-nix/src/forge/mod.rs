//! GitHub, as HACS sees it: which release to install, its assets and their digests, the commit
//! a tag points to, the repository's description, homepage and licence; and the exact bytes Nix
//! will later fetch, downloaded and verified.
//!
//! Endpoints are configurable (GitHub Enterprise, a mirror, a loopback test server), but the
//! URLs it hands out for Nix are always the canonical `https://github.com/…` ones.

mod cache;
mod error;
mod graphql;
mod http;

use serde::{Deserialize, Serialize};

pub(crate) use cache::write_best_effort;
pub use cache::{EtagCache, MAX_AGE, MAX_BYTES, Pruned, prune};
pub use error::ForgeError;
pub use graphql::{BATCH, Discovery};
pub use http::{MAX_API_ANSWER, RetryPolicy};
pub(crate) use http::{Unread, read_capped};

use crate::download::Progress;
use crate::hash::Sha256Digest;

/// Where Nix fetches from: what generated files always name.
pub const CANONICAL_DOWNLOAD: &str = "https://github.com";
pub const DEFAULT_API: &str = "https://api.github.com";
const JSON: &str = "application/vnd.github+json";

/// `owner/repo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepoId {
    pub owner: String,
    pub repo: String,
}

impl RepoId {
    pub fn parse(text: &str) -> Option<Self> {
        let (owner, repo) = text.trim().trim_end_matches('/').split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (ok(owner) && ok(repo) && !repo.contains('/')).then(|| Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
        })
    }
}

impl std::fmt::Display for RepoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    pub name: String,
    pub size: u64,
    /// `sha256:<hex>`, given for assets uploaded since 2025.
    #[serde(default)]
    pub digest: Option<String>,
}

impl Asset {
    /// The digest GitHub gives; `Err` with the text when it is given but is not
    /// `sha256:<64 hex digits>` (then nothing could be verified, which is an error, not a pass).
    pub fn sha256(&self) -> Result<Option<Sha256Digest>, String> {
        let Some(digest) = self.digest.as_deref() else {
            return Ok(None);
        };
        digest
            .strip_prefix("sha256:")
            .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| Sha256Digest::parse(hex).ok())
            .map(Some)
            .ok_or_else(|| digest.to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// The repository's facts for the derivation's `meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInfo {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub homepage: Option<String>,
    pub default_branch: String,
    #[serde(default)]
    pub archived: bool,
    /// SPDX identifier (`MIT`), `None` when GitHub does not recognise the licence.
    #[serde(default, deserialize_with = "spdx")]
    pub license: Option<String>,
}

fn spdx<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct License {
        spdx_id: Option<String>,
    }
    let license = Option::<License>::deserialize(d)?;
    Ok(license
        .and_then(|l| l.spdx_id)
        .filter(|id| id != "NOASSERTION"))
}

/// Which release to take.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Choice {
    /// The newest release that is neither draft nor pre-release (what HACS installs).
    #[default]
    Latest,
    /// The newest release that is not a draft.
    LatestIncludingPrereleases,
    /// This tag, released or not.
    Tag(String),
}

/// What was chosen: a release (or a pinned tag), or the default branch when there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chosen {
    /// The git ref to fetch: the tag, or the commit for the default branch.
    pub reference: String,
    /// The version HACS would record: the tag, or the 7-character commit.
    pub version: String,
    pub commit: String,
    pub release: Option<Release>,
    pub is_tag: bool,
}

impl Chosen {
    fn release(release: Release, commit: String) -> Self {
        Self {
            reference: release.tag_name.clone(),
            version: release.tag_name.clone(),
            commit,
            release: Some(release),
            is_tag: true,
        }
    }

    fn tag(tag: String, commit: String) -> Self {
        Self {
            reference: tag.clone(),
            version: tag,
            commit,
            release: None,
            is_tag: true,
        }
    }

    fn branch(commit: String) -> Self {
        Self {
            reference: commit.clone(),
            version: commit.chars().take(7).collect(),
            commit,
            release: None,
            is_tag: false,
        }
    }
}

enum Picked {
    Release(Release),
    /// A pinned tag without a release: still a tag.
    Tag(String),
    DefaultBranch,
}

/// HACS's choice among releases listed newest first.
fn pick(releases: Vec<Release>, choice: &Choice) -> Picked {
    let found = match choice {
        Choice::Latest => releases.into_iter().find(|r| !r.draft && !r.prerelease),
        Choice::LatestIncludingPrereleases => releases.into_iter().find(|r| !r.draft),
        Choice::Tag(tag) => match releases
            .into_iter()
            .find(|r| r.tag_name == *tag && !r.draft)
        {
            Some(release) => Some(release),
            None => return Picked::Tag(tag.clone()),
        },
    };
    found.map_or(Picked::DefaultBranch, Picked::Release)
}

/// A GitHub endpoint with one shared HTTP client.
#[derive(Debug)]
pub struct GitHub {
    engine: http::Engine,
    api: String,
    download: String,
    /// Release discovery through GraphQL when there is a token.
    graphql: bool,
    graphql_cost: std::sync::atomic::AtomicU64,
    /// Set when GraphQL's endpoint turned out missing: REST for the rest of the run.
    graphql_off: std::sync::Mutex<Option<ForgeError>>,
}

/// Settings for [`GitHub::new`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub api: String,
    pub download: String,
    pub token: Option<String>,
    pub cache: Option<EtagCache>,
    pub retry: RetryPolicy,
    pub connect_timeout: std::time::Duration,
    /// A body that sends nothing for this long is abandoned (and retried).
    pub read_timeout: std::time::Duration,
    pub user_agent: String,
    /// With a token, discover releases through GraphQL (50 repositories a request); REST
    /// otherwise. `HACS_NIX_GRAPHQL=0` turns it off.
    pub graphql: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            api: DEFAULT_API.to_owned(),
            download: CANONICAL_DOWNLOAD.to_owned(),
            token: None,
            cache: None,
            retry: RetryPolicy::default(),
            connect_timeout: std::time::Duration::from_secs(15),
            read_timeout: std::time::Duration::from_secs(60),
            user_agent: concat!("hacs-nix/", env!("CARGO_PKG_VERSION")).to_owned(),
            graphql: true,
        }
    }
}

impl Settings {
    /// From the environment: `GITHUB_TOKEN` or `GH_TOKEN`, `HACS_NIX_GITHUB_API`,
    /// `HACS_NIX_GITHUB_DOWNLOAD`, and the ETag cache in the XDG cache folder.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            api: var("HACS_NIX_GITHUB_API").unwrap_or_else(|| DEFAULT_API.to_owned()),
            download: var("HACS_NIX_GITHUB_DOWNLOAD")
                .unwrap_or_else(|| CANONICAL_DOWNLOAD.to_owned()),
            token: var("GITHUB_TOKEN").or_else(|| var("GH_TOKEN")),
            cache: EtagCache::default_location(),
            graphql: var("HACS_NIX_GRAPHQL")
                .is_none_or(|v| !matches!(v.trim(), "0" | "false" | "no")),
            ..Self::default()
        }
    }
}

/// An HTTP client with the settings' user agent and timeouts.
fn client(settings: &Settings) -> Result<reqwest::Client, ForgeError> {
    install_tls_provider();
    reqwest::Client::builder()
        .user_agent(settings.user_agent.clone())
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.read_timeout)
        .build()
        .map_err(|e| ForgeError::BadResponse {
            url: settings.api.clone(),
            detail: http::describe(&e),
        })
}

impl GitHub {
    pub fn new(settings: Settings) -> Result<Self, ForgeError> {
        let client = client(&settings)?;
        if let Some(cache) = &settings.cache {
            cache.prune(std::time::SystemTime::now());
        }
        Ok(Self {
            engine: http::Engine::new(client, settings.token, settings.cache, settings.retry),
            api: settings.api.trim_end_matches('/').to_owned(),
            download: settings.download.trim_end_matches('/').to_owned(),
            graphql: settings.graphql,
            graphql_cost: std::sync::atomic::AtomicU64::new(0),
            graphql_off: std::sync::Mutex::new(None),
        })
    }

    /// HTTP requests sent so far, retries included.
    pub fn requests(&self) -> u64 {
        self.engine.requests()
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
    ) -> Result<Option<(T, Option<String>)>, ForgeError> {
        let Some(answer) = self.engine.get(url, JSON).await? else {
            return Ok(None);
        };
        let value = serde_json::from_str(&answer.body).map_err(|e| ForgeError::BadResponse {
            url: url.to_owned(),
            detail: format!("{what}: {e}"),
        })?;
        Ok(Some((value, answer.link)))
    }

    pub async fn repo_info(&self, repo: &RepoId) -> Result<RepoInfo, ForgeError> {
        let url = format!("{}/repos/{repo}", self.api);
        self.json(&url, "repository")
            .await?
            .map(|(v, _)| v)
            .ok_or(ForgeError::NotFound {
                what: format!("repository {repo}"),
                url,
            })
    }

    /// All releases, newest first (GitHub's order), following `Link: rel="next"` pages.
    pub async fn releases(&self, repo: &RepoId) -> Result<Vec<Release>, ForgeError> {
        let mut url = Some(format!("{}/repos/{repo}/releases?per_page=100", self.api));
        let mut all = Vec::new();
        let mut pages = 0;
        while let Some(current) = url.take() {
            pages += 1;
            let Some((page, link)) = self.json::<Vec<Release>>(&current, "releases").await? else {
                return Err(ForgeError::NotFound {
                    what: format!("repository {repo}"),
                    url: current,
                });
            };
            all.extend(page);
            // A runaway Link chain must not loop forever.
            if pages < 50 {
                url = link.as_deref().and_then(next_link);
            }
        }
        Ok(all)
    }

    /// One release by its tag (with its assets' digests, which GraphQL does not give).
    pub async fn release_by_tag(&self, repo: &RepoId, tag: &str) -> Result<Release, ForgeError> {
        let url = format!("{}/repos/{repo}/releases/tags/{}", self.api, encode(tag));
        self.json::<Release>(&url, "release")
            .await?
            .map(|(r, _)| r)
            .ok_or(ForgeError::NotFound {
                what: format!("release `{tag}` of {repo}"),
                url,
            })
    }

    /// The commit a ref (tag, branch) points to.
    pub async fn commit(&self, repo: &RepoId, reference: &str) -> Result<String, ForgeError> {
        #[derive(Deserialize)]
        struct Commit {
            sha: String,
        }
        let url = format!("{}/repos/{repo}/commits/{}", self.api, encode(reference));
        self.json::<Commit>(&url, "commit")
            .await?
            .map(|(c, _)| c.sha)
            .ok_or(ForgeError::NotFound {
                what: format!("ref `{reference}` of {repo}"),
                url,
            })
    }

    /// A file at a ref (`hacs.json` at the release tag, as HACS reads it), `None` if absent.
    pub async fn file(
        &self,
        repo: &RepoId,
        path: &str,
        reference: &str,
    ) -> Result<Option<Vec<u8>>, ForgeError> {
        #[derive(Deserialize)]
        struct Content {
            content: String,
            #[serde(default)]
            encoding: String,
        }
        let url = format!(
            "{}/repos/{repo}/contents/{}?ref={}",
            self.api,
            encode(path),
            encode_query(reference)
        );
        let Some((content, _)) = self.json::<Content>(&url, "file").await? else {
            return Ok(None);
        };
        if content.encoding != "base64" {
            return Err(ForgeError::BadResponse {
                url,
                detail: format!("encoding `{}`", content.encoding),
            });
        }
        let cleaned: String = content
            .content
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        data_encoding::BASE64
            .decode(cleaned.as_bytes())
            .map(Some)
            .map_err(|e| ForgeError::BadResponse {
                url,
                detail: format!("base64: {e}"),
            })
    }

    /// Names of the directories in a folder at a ref (`None` if the folder is absent).
    pub async fn directories(
        &self,
        repo: &RepoId,
        path: &str,
        reference: &str,
    ) -> Result<Option<Vec<String>>, ForgeError> {
        #[derive(Deserialize)]
        struct Item {
            name: String,
            #[serde(rename = "type")]
            kind: String,
        }
        let url = format!(
            "{}/repos/{repo}/contents/{}?ref={}",
            self.api,
            encode(path),
            encode_query(reference)
        );
        let Some((items, _)) = self.json::<Vec<Item>>(&url, "folder").await? else {
            return Ok(None);
        };
        let mut names: Vec<String> = items
            .into_iter()
            .filter(|i| i.kind == "dir")
            .map(|i| i.name)
            .collect();
        names.sort();
        Ok(Some(names))
    }

    /// Picks what HACS would install: see [`Choice`]. With no eligible release, the default
    /// branch's newest commit (its 7-character SHA as the version).
    pub async fn choose(&self, repo: &RepoId, choice: &Choice) -> Result<Chosen, ForgeError> {
        let releases = self.releases(repo).await?;
        match pick(releases, choice) {
            Picked::Release(release) => {
                let commit = self.commit(repo, &release.tag_name).await?;
                Ok(Chosen::release(release, commit))
            }
            Picked::Tag(tag) => {
                let commit = self.commit(repo, &tag).await?;
                Ok(Chosen::tag(tag, commit))
            }
            Picked::DefaultBranch => {
                let info = self.repo_info(repo).await?;
                Ok(Chosen::branch(
                    self.commit(repo, &info.default_branch).await?,
                ))
            }
        }
    }

    /// [`GitHub::choose`] plus the repository's facts and a file at the chosen ref, with the
    /// independent requests in flight together: two round trips instead of four.
    pub async fn choose_with_file(
        &self,
        repo: &RepoId,
        choice: &Choice,
        path: &str,
    ) -> Result<(Chosen, RepoInfo, Option<Vec<u8>>), ForgeError> {
        let (releases, info) =
            futures_util::future::join(self.releases(repo), self.repo_info(repo)).await;
        let (releases, info) = (releases?, info?);
        let reference = match pick(releases, choice) {
            Picked::Release(release) => Ok(release),
            Picked::Tag(tag) => Err(tag),
            Picked::DefaultBranch => {
                let commit = self.commit(repo, &info.default_branch).await?;
                let file = self.file(repo, path, &commit).await?;
                return Ok((Chosen::branch(commit), info, file));
            }
        };
        let tag = match &reference {
            Ok(release) => release.tag_name.clone(),
            Err(tag) => tag.clone(),
        };
        let (commit, file) =
            futures_util::future::join(self.commit(repo, &tag), self.file(repo, path, &tag)).await;
        let chosen = match reference {
            Ok(release) => Chosen::release(release, commit?),
            Err(tag) => Chosen::tag(tag, commit?),
        };
        Ok((chosen, info, file?))
    }

    /// What Nix will fetch for the source archive of a ref (as `fetchFromGitHub` builds it).
    pub fn source_archive_url(repo: &RepoId, chosen: &Chosen) -> String {
        if chosen.is_tag {
            format!(
                "{CANONICAL_DOWNLOAD}/{repo}/archive/refs/tags/{}.tar.gz",
                encode(&chosen.reference)
            )
        } else {
            format!(
                "{CANONICAL_DOWNLOAD}/{repo}/archive/{}.tar.gz",
                chosen.reference
            )
        }
    }

    /// What Nix will fetch for a release asset.
    pub fn asset_url(repo: &RepoId, tag: &str, asset: &str) -> String {
        format!(
            "{CANONICAL_DOWNLOAD}/{repo}/releases/download/{}/{}",
            encode(tag),
            encode(asset)
        )
    }

    /// Downloads a canonical URL, from the configured download base (a mirror, a test server),
    /// into `out`; verifies the length and, when given, the asset's size and digest.
    pub async fn download(
        &self,
        canonical_url: &str,
        expected_size: Option<u64>,
        expected_digest: Option<Sha256Digest>,
        out: &mut std::fs::File,
        progress: &dyn Progress,
    ) -> Result<(u64, Sha256Digest), ForgeError> {
        let url = match canonical_url.strip_prefix(CANONICAL_DOWNLOAD) {
            Some(rest) => format!("{}{rest}", self.download),
            None => canonical_url.to_owned(),
        };
        self.engine
            .download(&url, expected_size, expected_digest, out, progress)
            .await
    }
}

/// JSON documents from hosts that are not GitHub's API (HACS's lists and data service): no
/// token is ever sent to them; answers are kept with their ETags when a cache is given.
#[derive(Debug)]
pub struct JsonSource {
    engine: http::Engine,
}

const PLAIN_JSON: &str = "application/json";

impl JsonSource {
    pub fn new(cache: Option<EtagCache>, retry: RetryPolicy) -> Result<Self, ForgeError> {
        let client = client(&Settings::default())?;
        Ok(Self {
            engine: http::Engine::new(client, None, cache, retry),
        })
    }

    /// The document, `None` for 404.
    pub async fn get(&self, url: &str) -> Result<Option<String>, ForgeError> {
        Ok(self.engine.get(url, PLAIN_JSON).await?.map(|a| a.body))
    }

    /// The document as last fetched, from the cache alone.
    pub fn cached(&self, url: &str) -> Option<String> {
        self.engine
            .cache
            .as_ref()
            .and_then(|c| c.get(url, PLAIN_JSON, false))
            .map(|e| e.body)
    }

    pub fn requests(&self) -> u64 {
        self.engine.requests()
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// Percent-encodes, in a URL path, only what would change the URL's meaning: nixpkgs'
/// `fetchFromGitHub` puts tags into its URL as they are, and the pinned URL must be the same.
fn encode(text: &str) -> String {
    percent(text, |b| {
        b.is_ascii_graphic() && !matches!(b, b'%' | b'#' | b'?')
    })
}

/// Percent-encodes a query value.
fn encode_query(text: &str) -> String {
    percent(text, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
    })
}

fn percent(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// reqwest is built without a default TLS provider (ring builds faster than aws-lc); it panics
/// unless one is installed before a client is built. Installing twice is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
