//! The catalogue through the pipeline, writing nothing: for each repository, the release HACS
//! would install is downloaded, hashed, checked as nixpkgs' builder would check it and its
//! requirements resolved against Home Assistant's Python set; the verdict is one class.
//! Reports of shards merge into one; the summary is computed from the results, never stored.

mod classify;
mod run;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use classify::classify;
pub use run::{SurveyOptions, survey};

use crate::catalogue::Category;

/// The report's format version.
pub const SURVEY_SCHEMA: u32 = 1;

/// What would happen on the first `nixos-rebuild`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Builds as generated, no fix needed.
    Builds,
    /// Builds with fixes the generator writes (named in `fixes`).
    BuildsWithFixes,
    /// Needs Python packages Home Assistant's set lacks (named in `packages`).
    NeedsPackage,
    /// Fails in nixpkgs' build or Home Assistant's loader (rule ids in `rules`).
    WillNotBuild,
    /// Not checked: GitHub or the download failed (rule ids in `rules`).
    CouldNotCheck,
}

impl Class {
    pub const ALL: [Self; 5] = [
        Self::Builds,
        Self::BuildsWithFixes,
        Self::NeedsPackage,
        Self::WillNotBuild,
        Self::CouldNotCheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builds => "builds",
            Self::BuildsWithFixes => "builds with fixes",
            Self::NeedsPackage => "needs a package",
            Self::WillNotBuild => "will not build",
            Self::CouldNotCheck => "could not check",
        }
    }
}

/// The verdict on one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoResult {
    pub repo: String,
    pub class: Class,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Why it will not build or could not be checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
    /// Requirements Home Assistant's set lacks (normalised names).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// The first reason, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The missing requirements as the manifests write them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// With `--package-missing`: whether the generator packages every missing requirement from
    /// the Python index, and why not for those it cannot (PEP 503 name → reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packageable: Option<bool>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unpackageable: BTreeMap<String, String>,
}

/// A survey: one shard or the merge of several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema: u32,
    pub category: Category,
    pub home_assistant: String,
    pub python: String,
    /// `K/M` of each shard in it; empty for an unsharded run.
    #[serde(default)]
    pub shards: Vec<String>,
    /// Sorted by repository (case-insensitively).
    pub results: Vec<RepoResult>,
}

#[derive(Debug, Error)]
pub enum SurveyError {
    #[error("{file}: not a survey report: {detail}")]
    NotAReport { file: String, detail: String },
    #[error("{file} surveyed {what}, the first report {first}: only shards of one survey merge")]
    Mismatch {
        file: String,
        what: String,
        first: String,
    },
    #[error(
        "{repo} is in two of the reports ({file} and an earlier one): were the shards of two runs mixed?"
    )]
    Twice { repo: String, file: String },
    #[error("`{0}` is not a shard: write K/M with 1 ≤ K ≤ M (e.g. 2/8)")]
    BadShard(String),
    #[error("no reports to merge")]
    Empty,
}

/// `K/M`: the K-th of M shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Self, SurveyError> {
        let bad = || SurveyError::BadShard(text.to_owned());
        let (k, m) = text.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<u64>().map_err(|_| bad())?,
            m.trim().parse::<u64>().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }

    /// Whether `repo` belongs to this shard: by a hash of its lower-cased name, so a shard's
    /// members do not move when the list grows between the jobs of one matrix.
    pub fn holds(&self, repo: &str) -> bool {
        let digest = crate::hash::Sha256Digest::of(repo.to_lowercase().as_bytes());
        let [a, b, c, d, e, f, g, h, ..] = digest.0;
        u64::from_be_bytes([a, b, c, d, e, f, g, h]) % self.count == self.index - 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Counts for the summary table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub classes: BTreeMap<Class, usize>,
    /// Rule id → repositories that will not build for it.
    pub will_not_build: BTreeMap<String, usize>,
    pub could_not_check: BTreeMap<String, usize>,
    pub fixes: BTreeMap<String, usize>,
    pub packages: BTreeMap<String, usize>,
    /// Of "needs a package": how many the generator packages entirely (when it was asked).
    pub packageable: Option<usize>,
}

impl Report {
    pub fn sort(&mut self) {
        sort_results(&mut self.results);
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            total: self.results.len(),
            ..Summary::default()
        };
        for r in &self.results {
            *s.classes.entry(r.class).or_default() += 1;
            let rules = match r.class {
                Class::WillNotBuild => Some(&mut s.will_not_build),
                Class::CouldNotCheck => Some(&mut s.could_not_check),
                _ => None,
            };
            if let Some(rules) = rules {
                for rule in &r.rules {
                    *rules.entry(rule.clone()).or_default() += 1;
                }
            }
            for fix in &r.fixes {
                *s.fixes.entry(fix.clone()).or_default() += 1;
            }
            for package in &r.packages {
                *s.packages.entry(package.clone()).or_default() += 1;
            }
            if let Some(yes) = r.packageable {
                *s.packageable.get_or_insert(0) += usize::from(yes);
            }
        }
        s
    }

    /// Shards' reports as one; each file's name is for the messages.
    pub fn merge(reports: Vec<(String, Report)>) -> Result<Report, SurveyError> {
        let mut reports = reports.into_iter();
        let (_, mut merged) = reports.next().ok_or(SurveyError::Empty)?;
        let mut seen: BTreeMap<String, ()> = merged
            .results
            .iter()
            .map(|r| (r.repo.to_lowercase(), ()))
            .collect();
        for (file, report) in reports {
            let identity = |r: &Report| {
                format!(
                    "{} against Home Assistant {} (Python {})",
                    r.category, r.home_assistant, r.python
                )
            };
            if identity(&report) != identity(&merged) {
                return Err(SurveyError::Mismatch {
                    file,
                    what: identity(&report),
                    first: identity(&merged),
                });
            }
            for result in report.results {
                if seen.insert(result.repo.to_lowercase(), ()).is_some() {
                    return Err(SurveyError::Twice {
                        repo: result.repo,
                        file,
                    });
                }
                merged.results.push(result);
            }
            merged.shards.extend(report.shards);
        }
        merged.shards.sort();
        merged.shards.dedup();
        merged.sort();
        Ok(merged)
    }

    pub fn from_json(file: &str, text: &str) -> Result<Report, SurveyError> {
        let report: Report = serde_json::from_str(text).map_err(|e| SurveyError::NotAReport {
            file: file.to_owned(),
            detail: e.to_string(),
        })?;
        if report.schema != SURVEY_SCHEMA {
            return Err(SurveyError::NotAReport {
                file: file.to_owned(),
                detail: format!(
                    "schema {} (this version writes {SURVEY_SCHEMA})",
                    report.schema
                ),
            });
        }
        Ok(report)
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The summary as Markdown (a workflow summary, a pull request, a page).
    pub fn to_markdown(&self) -> String {
        let s = self.summary();
        let pct = |n: usize| {
            if s.total == 0 {
                0.0
            } else {
                n as f64 * 100.0 / s.total as f64
            }
        };
        let mut out = format!(
            "## HACS survey: {}, Home Assistant {} (Python {})\n\n{} repositories checked{}.\n\n",
            self.category,
            self.home_assistant,
            self.python,
            s.total,
            if self.shards.is_empty() {
                String::new()
            } else {
                format!(" (shards {})", self.shards.join(", "))
            }
        );
        out.push_str("| class | repositories | share |\n|---|---:|---:|\n");
        for class in Class::ALL {
            let n = s.classes.get(&class).copied().unwrap_or(0);
            out.push_str(&format!("| {} | {n} | {:.1}% |\n", class.as_str(), pct(n)));
        }
        let table =
            |out: &mut String, title: &str, head: &str, counts: &BTreeMap<String, usize>| {
                if counts.is_empty() {
                    return;
                }
                let mut rows: Vec<(&String, &usize)> = counts.iter().collect();
                rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
                out.push_str(&format!(
                    "\n### {title}\n\n| {head} | repositories | share |\n|---|---:|---:|\n"
                ));
                for (name, n) in rows.into_iter().take(30) {
                    out.push_str(&format!(
                        "| `{}` | {n} | {:.1}% |\n",
                        markdown_cell(name),
                        pct(*n)
                    ));
                }
            };
        table(
            &mut out,
            "Why the others will not build",
            "rule",
            &s.will_not_build,
        );
        table(&mut out, "Fixes the generator writes", "fix", &s.fixes);
        table(
            &mut out,
            "Python packages Home Assistant's set lacks",
            "package",
            &s.packages,
        );
        table(&mut out, "Could not check", "rule", &s.could_not_check);
        out
    }
}

/// By repository, case-insensitively, as HACS sorts its lists.
fn sort_results(results: &mut [RepoResult]) {
    results.sort_by_key(|r| r.repo.to_lowercase());
}

/// Text from upstream inside a Markdown table cell: no pipes, backticks or line breaks.
fn markdown_cell(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '|' | '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}
