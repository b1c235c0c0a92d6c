//! The survey's pipeline: every repository streams through download → hash → check → class in
//! a bounded pool of workers, its tree dropped at once; results arrive as they complete. Each
//! result is cached with the pin it judged and the Python set it judged against, so a rerun
//! with nothing new upstream downloads nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{RepoResult, classify};
use crate::fetch::{self, FetchRequest, Pin, SourcePreference};
use crate::forge::{Choice, GitHub, RepoId};
use crate::hash::Sha256Digest;
use crate::pypi;
use crate::pyset::PythonSet;

#[derive(Debug, Clone, Default)]
pub struct SurveyOptions {
    pub jobs: usize,
    /// Where results are cached per repository (`None`: no cache).
    pub cache: Option<PathBuf>,
    /// Ask the Python index whether the generator can package what is missing.
    pub package_missing: bool,
    /// The index's base URL; `None`: as the user's pip is configured.
    pub python_index: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    repo: String,
    /// The Python set judged against (a digest of its snapshot).
    set: String,
    pin: Pin,
    result: RepoResult,
}

fn cache_file(dir: &std::path::Path, repo: &RepoId) -> PathBuf {
    let key = Sha256Digest::of(repo.to_string().to_lowercase().as_bytes()).to_hex();
    dir.join(format!("{}.json", key.get(..24).unwrap_or(&key)))
}

fn read_cached(dir: &std::path::Path, repo: &RepoId, set: &str) -> Option<Cached> {
    let text = std::fs::read_to_string(cache_file(dir, repo)).ok()?;
    let cached: Cached = serde_json::from_str(&text).ok()?;
    (cached.set == set && cached.repo.eq_ignore_ascii_case(&repo.to_string())).then_some(cached)
}

/// Surveys `repos`; `on_result` sees each result as it arrives (for progress). Returns the
/// results and the downloads made.
pub async fn survey(
    github: &GitHub,
    repos: &[RepoId],
    set: &PythonSet,
    options: &SurveyOptions,
    mut on_result: impl FnMut(&RepoResult),
) -> (Vec<RepoResult>, usize) {
    let set_key = Sha256Digest::of(set.to_json().as_bytes()).to_hex();
    let cached: Vec<Option<Cached>> = repos
        .iter()
        .map(|repo| {
            options
                .cache
                .as_deref()
                .and_then(|dir| read_cached(dir, repo, &set_key))
        })
        .collect();
    let requests: Vec<FetchRequest> = repos
        .iter()
        .zip(&cached)
        .map(|(repo, cached)| FetchRequest {
            repo: repo.clone(),
            choice: Choice::Latest,
            source: SourcePreference::Auto,
            previous: cached.as_ref().map(|c| c.pin.clone()),
        })
        .collect();
    let judge = |index: usize, fetched: Result<fetch::Fetched, fetch::FetchError>| {
        let repo = repos.get(index)?;
        let previous = cached.get(index).and_then(Option::as_ref);
        Some(match fetched {
            // Nothing new upstream: the cached verdict stands.
            Ok(f) if f.unchanged() => match previous {
                Some(c) => (c.result.clone(), None, false),
                None => (classify(repo, Ok(f), set), None, false),
            },
            Ok(f) => {
                let pin = f.pin.clone();
                (classify(repo, Ok(f), set), Some(pin), true)
            }
            // A release that cannot be unpacked is judged once, by its release too.
            Err(fetch::FetchError::Unpinnable { pin, source }) => {
                let pin = *pin;
                let e = fetch::FetchError::Unpinnable {
                    pin: Box::new(pin.clone()),
                    source,
                };
                (classify(repo, Err(e), set), Some(pin), true)
            }
            Err(e) => (classify(repo, Err(e), set), None, false),
        })
    };
    let progress = |_: &RepoId| ();
    let mut stream = std::pin::pin!(fetch::fetch_each(
        github,
        &requests,
        options.jobs.max(1),
        &progress,
        &judge,
    ));
    let mut results = Vec::with_capacity(repos.len());
    let mut downloads = 0;
    while let Some((index, judged)) = stream.next().await {
        let Some((result, pin, downloaded)) = judged else {
            continue;
        };
        downloads += usize::from(downloaded);
        if let (Some(dir), Some(pin), Some(repo)) = (&options.cache, pin, repos.get(index)) {
            let entry = Cached {
                repo: repo.to_string(),
                set: set_key.clone(),
                pin,
                result: result.clone(),
            };
            if let Ok(text) = serde_json::to_string(&entry) {
                crate::forge::write_best_effort(&cache_file(dir, repo), text.as_bytes());
            }
        }
        on_result(&result);
        results.push(result);
    }
    super::sort_results(&mut results);
    if options.package_missing {
        judge_packaging(&mut results, set, options.python_index.as_deref()).await;
    }
    (results, downloads)
}

/// Packages every missing requirement of the survey at once, as `update-components` would
/// (without writing anything), and marks each result with whether all it lacks was packaged.
async fn judge_packaging(results: &mut [RepoResult], set: &PythonSet, index: Option<&str>) {
    let mut wanted = Vec::new();
    for r in results.iter() {
        for text in &r.requirements {
            if let Ok(requirement) = crate::requirement::parse(text) {
                wanted.push(pypi::resolve::Wanted {
                    requirement,
                    needed_by: format!("{}: {text}", r.repo),
                });
            }
        }
    }
    if wanted.is_empty() {
        return;
    }
    let reached = pypi::reach(index);
    let refused: BTreeMap<String, String> = match reached {
        Ok((index, client)) => {
            // The whole catalogue's needs with `update-components`' limits: the cap is per
            // requirement tree, so the verdict for a repository is the same here as in a
            // checkout, whatever else either holds.
            let context = pypi::resolve::Context::default();
            pypi::resolve::package_missing(&client, &index, set, &wanted, context)
                .await
                .refused
        }
        Err(e) => wanted
            .iter()
            .map(|w| (w.requirement.normalized.clone(), e.to_string()))
            .collect(),
    };
    for r in results.iter_mut().filter(|r| !r.packages.is_empty()) {
        r.unpackageable = r
            .packages
            .iter()
            .filter_map(|p| Some((p.clone(), refused.get(p)?.clone())))
            .collect();
        r.packageable = Some(r.unpackageable.is_empty());
    }
}
