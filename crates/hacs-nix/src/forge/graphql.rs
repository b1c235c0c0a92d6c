//! Release discovery through GitHub's GraphQL API: one request asks for up to 50 repositories
//! (aliases `r0`…`r49`), their newest releases, the repository facts and, in a second request,
//! `hacs.json` at each chosen commit. Two requests per 50 repositories instead of four per
//! repository over REST. Needs a token (GraphQL refuses anonymous requests).
//!
//! Every value from the caller (owner, name, tag, expression, cursor) travels as a GraphQL
//! variable, never inside the query text. Asset digests are not asked for here (REST has them;
//! the caller reads the one chosen asset over REST).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Asset, Choice, Chosen, ForgeError, GitHub, Picked, Release, RepoId, RepoInfo, pick};

/// Repositories per request (GitHub's documented node limits allow far more; 50 keeps an
/// answer well under the API answer cap and a failure's blast radius small).
pub const BATCH: usize = 50;
/// Releases per page.
const PAGE: usize = 20;
/// Pages of releases at most per repository (a repository with hundreds of pre-releases).
const MAX_PAGES: usize = 10;

/// What discovery learns of one repository: the release HACS would install, the repository's
/// facts, and `hacs.json` at the chosen commit.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub chosen: Chosen,
    pub info: RepoInfo,
    pub hacs_json: Option<Vec<u8>>,
}

const RELEASE_FIELDS: &str = "tagName name isDraft isPrerelease publishedAt url description tagCommit { oid } releaseAssets(first: 100) { nodes { name size } }";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlRelease {
    tag_name: String,
    name: Option<String>,
    is_draft: bool,
    is_prerelease: bool,
    published_at: Option<String>,
    url: Option<String>,
    description: Option<String>,
    tag_commit: Option<Oid>,
    release_assets: Nodes<GqlAsset>,
}

#[derive(Debug, Deserialize)]
struct GqlAsset {
    name: String,
    size: u64,
}

#[derive(Debug, Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct Oid {
    oid: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Releases {
    page_info: PageInfo,
    nodes: Vec<GqlRelease>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GqlRepo {
    description: Option<String>,
    homepage_url: Option<String>,
    #[serde(default)]
    is_archived: bool,
    license_info: Option<License>,
    default_branch_ref: Option<BranchRef>,
    releases: Releases,
    #[serde(default)]
    pinned: Option<GqlRelease>,
    #[serde(default)]
    tagref: Option<TagRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct License {
    spdx_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BranchRef {
    name: String,
    target: Oid,
}

#[derive(Debug, Deserialize)]
struct TagRef {
    target: TagTarget,
}

/// A lightweight tag's target is the commit; an annotated tag's is a Tag pointing at it.
#[derive(Debug, Deserialize)]
struct TagTarget {
    oid: String,
    #[serde(default)]
    target: Option<Oid>,
}

#[derive(Debug, Deserialize)]
struct Blob {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GqlError {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    path: Vec<Value>,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    data: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    errors: Vec<GqlError>,
}

impl GqlRelease {
    fn into_release(self) -> (Release, Option<String>) {
        let commit = self.tag_commit.map(|c| c.oid);
        let release = Release {
            tag_name: self.tag_name,
            name: self.name,
            draft: self.is_draft,
            prerelease: self.is_prerelease,
            published_at: self.published_at,
            html_url: self.url,
            body: self.description,
            assets: self
                .release_assets
                .nodes
                .into_iter()
                .map(|a| Asset {
                    name: a.name,
                    size: a.size,
                    digest: None,
                })
                .collect(),
        };
        (release, commit)
    }
}

/// One repository's discovery in progress.
struct Pending {
    releases: Vec<(Release, Option<String>)>,
    info: Option<RepoInfo>,
    default_commit: Option<String>,
    pinned: Option<(Release, Option<String>)>,
    tag_commit: Option<String>,
    cursor: Option<String>,
    pages: usize,
}

impl GitHub {
    /// True when release discovery goes through GraphQL (a token, not turned off, and not
    /// found missing earlier in this run).
    pub fn uses_graphql(&self) -> bool {
        self.graphql
            && self.engine.token.is_some()
            && self
                .graphql_off
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_none()
    }

    /// Why GraphQL was found missing and the run went on over REST: one note for the run.
    pub fn graphql_note(&self) -> Option<String> {
        let off = self.graphql_off.lock().unwrap_or_else(|e| e.into_inner());
        off.as_ref().map(|e| {
            format!(
                "{e}; releases were discovered over REST for the rest of the run (HACS_NIX_GRAPHQL=0 skips GraphQL)"
            )
        })
    }

    /// GraphQL is an optimisation: once its endpoint is found missing, the rest of the run
    /// uses REST (the first reason is kept for the note).
    fn turn_off(&self, e: ForgeError) -> ForgeError {
        let mut off = self.graphql_off.lock().unwrap_or_else(|e| e.into_inner());
        off.get_or_insert_with(|| e.duplicate());
        e
    }

    /// Points of GraphQL's rate limit spent so far, as GitHub reported them.
    pub fn graphql_points(&self) -> u64 {
        self.graphql_cost.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn graphql_url(&self) -> String {
        match self.api.strip_suffix("/v3") {
            Some(base) => format!("{base}/graphql"),
            None => format!("{}/graphql", self.api),
        }
    }

    /// One GraphQL request: the `data` object and the errors per alias. A request-level
    /// error (rate limit, bad credentials) fails the whole batch.
    async fn graphql(
        &self,
        query: &str,
        variables: serde_json::Map<String, Value>,
    ) -> Result<(BTreeMap<String, Value>, BTreeMap<String, ForgeError>), ForgeError> {
        let url = self.graphql_url();
        let body = json!({ "query": query, "variables": variables }).to_string();
        let unavailable = |reason: String| ForgeError::GraphqlUnavailable {
            url: url.clone(),
            reason,
        };
        let answer = match self.engine.post(&url, &body).await {
            Ok(Some(answer)) => answer,
            Ok(None) => return Err(self.turn_off(unavailable(answered(404)))),
            // A server without GraphQL: 405 or 501 from a REST-only server or a proxy, 404
            // from a mirror, a page that is not JSON at all.
            Err(ForgeError::Http { status, .. }) if matches!(status, 404 | 405 | 501) => {
                return Err(self.turn_off(unavailable(answered(status))));
            }
            Err(ForgeError::BadResponse { detail, .. }) => {
                return Err(self.turn_off(unavailable(detail)));
            }
            Err(e) => return Err(e),
        };
        let answer: Answer = match serde_json::from_str(&answer.body) {
            Ok(Answer { data: None, errors }) if errors.is_empty() => {
                return Err(self.turn_off(unavailable(
                    "the answer has neither `data` nor `errors`: it is not GraphQL".to_owned(),
                )));
            }
            Ok(answer) => answer,
            Err(e) => {
                return Err(self.turn_off(unavailable(format!("the answer is not GraphQL: {e}"))));
            }
        };
        let mut per_alias = BTreeMap::new();
        for error in answer.errors {
            let alias = error
                .path
                .first()
                .and_then(Value::as_str)
                .map(str::to_owned);
            match (error.kind.as_deref(), alias) {
                (Some("RATE_LIMITED"), _) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let limited = ForgeError::RateLimited {
                        resets_at: None,
                        authenticated: true,
                        now,
                    };
                    return Err(self.engine.remember_limit(limited));
                }
                (Some("NOT_FOUND"), Some(alias)) => {
                    per_alias.insert(
                        alias,
                        ForgeError::NotFound {
                            what: format!("repository ({})", error.message),
                            url: url.clone(),
                        },
                    );
                }
                (_, Some(alias)) => {
                    per_alias.insert(
                        alias,
                        ForgeError::BadResponse {
                            url: url.clone(),
                            detail: error.message,
                        },
                    );
                }
                (_, None) => {
                    return Err(ForgeError::BadResponse {
                        url,
                        detail: format!("GraphQL: {}", error.message),
                    });
                }
            }
        }
        let mut data = answer.data.unwrap_or_default();
        if let Some(cost) = data
            .remove("rateLimit")
            .and_then(|r| r.get("cost").and_then(Value::as_u64))
        {
            self.graphql_cost
                .fetch_add(cost, std::sync::atomic::Ordering::Relaxed);
        }
        Ok((data, per_alias))
    }

    /// Discovers up to [`BATCH`] repositories (more are split into batches): for each, the
    /// release [`GitHub::choose`] would pick, the repository's facts and `hacs.json` at the
    /// chosen commit. Results in the order asked; a repository GitHub does not know fails
    /// alone.
    pub async fn discover(
        &self,
        wanted: &[(RepoId, Choice)],
    ) -> Vec<Result<Discovery, ForgeError>> {
        let mut out = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(BATCH) {
            match self.discover_batch(chunk).await {
                Ok(results) => out.extend(results),
                // The whole request failed: every repository of it says why.
                Err(e) => out.extend(chunk.iter().map(|_| Err(e.duplicate()))),
            }
        }
        out
    }

    async fn discover_batch(
        &self,
        chunk: &[(RepoId, Choice)],
    ) -> Result<Vec<Result<Discovery, ForgeError>>, ForgeError> {
        let mut pending: Vec<Result<Pending, ForgeError>> = chunk
            .iter()
            .map(|_| {
                Ok(Pending {
                    releases: Vec::new(),
                    info: None,
                    default_commit: None,
                    pinned: None,
                    tag_commit: None,
                    cursor: None,
                    pages: 0,
                })
            })
            .collect();
        // Releases, page after page for the repositories whose choice is not found yet.
        let mut asking: Vec<usize> = (0..chunk.len()).collect();
        while !asking.is_empty() {
            let mut query = String::from("query(");
            let mut selections = String::new();
            let mut variables = serde_json::Map::new();
            for &i in &asking {
                let Some((repo, choice)) = chunk.get(i) else {
                    continue;
                };
                let cursor = pending
                    .get(i)
                    .and_then(|p| p.as_ref().ok())
                    .and_then(|p| p.cursor.clone());
                let first_page = cursor.is_none();
                query.push_str(&format!("$o{i}: String!, $n{i}: String!, $c{i}: String, "));
                variables.insert(format!("o{i}"), json!(repo.owner));
                variables.insert(format!("n{i}"), json!(repo.repo));
                variables.insert(format!("c{i}"), json!(cursor));
                let mut fields = format!(
                    "releases(first: {PAGE}, after: $c{i}, orderBy: {{field: CREATED_AT, direction: DESC}}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {RELEASE_FIELDS} }} }}"
                );
                if first_page {
                    fields.push_str(" description homepageUrl isArchived licenseInfo { spdxId } defaultBranchRef { name target { oid } }");
                    if let Choice::Tag(tag) = choice {
                        query.push_str(&format!("$t{i}: String!, $q{i}: String!, "));
                        variables.insert(format!("t{i}"), json!(tag));
                        variables.insert(format!("q{i}"), json!(format!("refs/tags/{tag}")));
                        fields.push_str(&format!(
                            " pinned: release(tagName: $t{i}) {{ {RELEASE_FIELDS} }} tagref: ref(qualifiedName: $q{i}) {{ target {{ oid ... on Tag {{ target {{ oid }} }} }} }}"
                        ));
                    }
                }
                selections.push_str(&format!(
                    "  r{i}: repository(owner: $o{i}, name: $n{i}) {{ {fields} }}\n"
                ));
            }
            let query = format!(
                "{}) {{\n  rateLimit {{ cost remaining }}\n{selections}}}",
                query.trim_end_matches(", ")
            );
            let (mut data, mut errors) = self.graphql(&query, variables).await?;
            let mut next = Vec::new();
            for &i in &asking {
                let alias = format!("r{i}");
                let Some(slot) = pending.get_mut(i) else {
                    continue;
                };
                let Ok(state) = slot else { continue };
                let value = data.remove(&alias).filter(|v| !v.is_null());
                let Some(value) = value else {
                    *slot = Err(errors
                        .remove(&alias)
                        .unwrap_or_else(|| ForgeError::NotFound {
                            what: format!(
                                "repository {}",
                                chunk.get(i).map(|(r, _)| r.to_string()).unwrap_or_default()
                            ),
                            url: self.graphql_url(),
                        }));
                    continue;
                };
                let repo: GqlRepo =
                    serde_json::from_value(value).map_err(|e| ForgeError::BadResponse {
                        url: self.graphql_url(),
                        detail: format!("GraphQL repository {alias}: {e}"),
                    })?;
                state.pages += 1;
                if state.info.is_none() {
                    state.info = Some(RepoInfo {
                        description: repo.description,
                        homepage: repo.homepage_url.filter(|h| !h.is_empty()),
                        default_branch: repo
                            .default_branch_ref
                            .as_ref()
                            .map_or_else(String::new, |b| b.name.clone()),
                        archived: repo.is_archived,
                        license: repo
                            .license_info
                            .and_then(|l| l.spdx_id)
                            .filter(|id| id != "NOASSERTION"),
                    });
                    state.default_commit = repo.default_branch_ref.map(|b| b.target.oid);
                    state.pinned = repo.pinned.map(GqlRelease::into_release);
                    state.tag_commit = repo
                        .tagref
                        .map(|t| t.target.target.map_or(t.target.oid, |c| c.oid));
                }
                state.releases.extend(
                    repo.releases
                        .nodes
                        .into_iter()
                        .map(GqlRelease::into_release),
                );
                let choice = chunk.get(i).map(|(_, c)| c);
                let decided = match choice {
                    Some(Choice::Tag(_)) | None => true,
                    Some(choice) => !matches!(
                        pick(
                            state.releases.iter().map(|(r, _)| r.clone()).collect(),
                            choice
                        ),
                        Picked::DefaultBranch
                    ),
                };
                if !decided
                    && repo.releases.page_info.has_next_page
                    && state.pages < MAX_PAGES
                    && let Some(cursor) = repo.releases.page_info.end_cursor
                {
                    state.cursor = Some(cursor);
                    next.push(i);
                }
            }
            asking = next;
        }

        // The choices, then hacs.json at each chosen commit in one more request.
        let mut chosen: Vec<Result<(Chosen, RepoInfo), ForgeError>> = Vec::new();
        for (i, state) in pending.into_iter().enumerate() {
            let (repo, choice) = match chunk.get(i) {
                Some(x) => x,
                None => continue,
            };
            chosen.push(
                state.and_then(|state| choose_from(repo, choice, state, &self.graphql_url())),
            );
        }
        let mut query = String::from("query(");
        let mut selections = String::new();
        let mut variables = serde_json::Map::new();
        for (i, c) in chosen.iter().enumerate() {
            let (Ok((chosen, _)), Some((repo, _))) = (c, chunk.get(i)) else {
                continue;
            };
            query.push_str(&format!("$o{i}: String!, $n{i}: String!, $e{i}: String!, "));
            variables.insert(format!("o{i}"), json!(repo.owner));
            variables.insert(format!("n{i}"), json!(repo.repo));
            variables.insert(
                format!("e{i}"),
                json!(format!("{}:hacs.json", chosen.commit)),
            );
            selections.push_str(&format!(
                "  r{i}: repository(owner: $o{i}, name: $n{i}) {{ object(expression: $e{i}) {{ ... on Blob {{ text }} }} }}\n"
            ));
        }
        let mut files: BTreeMap<String, Value> = BTreeMap::new();
        let mut file_errors = BTreeMap::new();
        if !selections.is_empty() {
            let query = format!(
                "{}) {{\n  rateLimit {{ cost remaining }}\n{selections}}}",
                query.trim_end_matches(", ")
            );
            (files, file_errors) = self.graphql(&query, variables).await?;
        }
        Ok(chosen
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let (chosen, info) = c?;
                let alias = format!("r{i}");
                if let Some(e) = file_errors.remove(&alias) {
                    return Err(e);
                }
                let hacs_json = files
                    .get(&alias)
                    .and_then(|r| r.get("object"))
                    .filter(|o| !o.is_null())
                    .map(|o| serde_json::from_value::<Blob>(o.clone()))
                    .transpose()
                    .map_err(|e| ForgeError::BadResponse {
                        url: self.graphql_url(),
                        detail: format!("GraphQL hacs.json of {alias}: {e}"),
                    })?
                    .and_then(|b| b.text)
                    .map(String::into_bytes);
                Ok(Discovery {
                    chosen,
                    info,
                    hacs_json,
                })
            })
            .collect())
    }
}

/// The release [`GitHub::choose`] would pick, from what GraphQL returned.
fn choose_from(
    repo: &RepoId,
    choice: &Choice,
    state: Pending,
    url: &str,
) -> Result<(Chosen, RepoInfo), ForgeError> {
    let missing = |what: String| ForgeError::NotFound {
        what,
        url: url.to_owned(),
    };
    let info = state
        .info
        .ok_or_else(|| missing(format!("repository {repo}")))?;
    let picked = match choice {
        Choice::Tag(tag) => match state.pinned {
            Some((release, commit)) if !release.draft => Ok((release, commit)),
            _ => Err(Some(tag.clone())),
        },
        _ => {
            let commits: BTreeMap<String, Option<String>> = state
                .releases
                .iter()
                .map(|(r, c)| (r.tag_name.clone(), c.clone()))
                .collect();
            match pick(state.releases.into_iter().map(|(r, _)| r).collect(), choice) {
                Picked::Release(release) => {
                    let commit = commits.get(&release.tag_name).cloned().flatten();
                    Ok((release, commit))
                }
                _ => Err(None),
            }
        }
    };
    let chosen = match picked {
        Ok((release, commit)) => {
            let commit = commit.ok_or_else(|| {
                missing(format!(
                    "the commit of tag `{}` of {repo}",
                    release.tag_name
                ))
            })?;
            Chosen::release(release, commit)
        }
        Err(Some(tag)) => {
            let commit = state
                .tag_commit
                .ok_or_else(|| missing(format!("ref `{tag}` of {repo}")))?;
            Chosen::tag(tag, commit)
        }
        Err(None) => {
            let commit = state
                .default_commit
                .ok_or_else(|| missing(format!("the default branch of {repo}")))?;
            Chosen::branch(commit)
        }
    };
    Ok((chosen, info))
}

/// `GitHub answered 501 Not Implemented`: why the GraphQL endpoint counts as missing.
fn answered(status: u16) -> String {
    format!("GitHub answered {}", super::error::status_text(status))
}
