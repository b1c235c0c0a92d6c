//! The pull request the update bot opens: a title and a Markdown body saying what changed, with
//! links, dependency changes and every finding; what changed because of upstream releases kept
//! apart from what changed because nixpkgs moved. Release notes are quoted with `@` mentions and
//! bare issue references neutralised, and the body is trimmed to GitHub's 65,536 characters.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::finding::Finding;
use crate::lock::Lock;
use crate::update::{ChangeKind, Plan};

/// GitHub's limit for a pull request body, in characters.
pub const BODY_LIMIT: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub title: String,
    pub body: String,
}

static MENTION: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(r"(^|[^\w`])@([A-Za-z0-9][A-Za-z0-9-]*)").expect("valid pattern")
});
static ISSUE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)] // a constant pattern
    Regex::new(r"(^|[\s(\[])#(\d+)\b").expect("valid pattern")
});

/// Release notes made safe to quote: mentions would ping people, `#123` would link this
/// repository's issues; both are rewritten. Every line is quoted.
pub fn quote_notes(notes: &str, repo: &str) -> String {
    let text = MENTION.replace_all(notes, "$1@&#8203;$2");
    let text = ISSUE.replace_all(
        &text,
        format!("$1[#$2](https://github.com/{repo}/issues/$2)").as_str(),
    );
    text.lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_owned()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The report of a plan against the previous lock; `None` when nothing changed.
pub fn render(plan: &Plan, old: &Lock) -> Option<PullRequest> {
    if plan.changes.is_empty() {
        return None;
    }
    let upstream: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ChangeKind::Updated | ChangeKind::Added | ChangeKind::Removed
            )
        })
        .collect();
    let moved: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Regenerated)
        .collect();
    let title = match (upstream.as_slice(), moved.len()) {
        ([one], 0) if one.kind == ChangeKind::Updated => format!(
            "Update {} to {}",
            one.attr,
            one.new_version.as_deref().unwrap_or("?")
        ),
        ([one], 0) if one.kind == ChangeKind::Added => format!(
            "Add {} {}",
            one.attr,
            one.new_version.as_deref().unwrap_or("?")
        ),
        ([], n) => format!(
            "Refresh {n} Home Assistant component{} for the new nixpkgs",
            if n == 1 { "" } else { "s" }
        ),
        (many, _) => format!(
            "Update {} Home Assistant components",
            many.len() + moved.len()
        ),
    };

    let mut body = String::from(
        "Pinned Home Assistant components, updated by `cargo xtask update-components`.\n",
    );
    if !upstream.is_empty() {
        body.push_str("\n### Upstream releases\n\n| Component | Repository | Version | Release notes | Changes |\n|---|---|---|---|---|\n");
        for c in &upstream {
            let repo = &c.repo;
            let version = match (c.kind, &c.old_version, &c.new_version) {
                (ChangeKind::Added, _, Some(new)) => format!("**{new}** (new)"),
                (ChangeKind::Removed, Some(old), _) => format!("~~{old}~~ (removed)"),
                (_, Some(old), Some(new)) => format!("{old} → **{new}**"),
                _ => "?".to_owned(),
            };
            let notes = plan
                .releases
                .get(&c.attr)
                .and_then(|r| r.url.as_ref().map(|u| format!("[{}]({u})", r.tag)))
                .unwrap_or_else(|| "—".to_owned());
            let compare = match (c.kind, &c.old_version, &c.new_version) {
                (ChangeKind::Updated, Some(old), Some(new)) => {
                    format!("[{old}…{new}](https://github.com/{repo}/compare/{old}...{new})")
                }
                _ => "—".to_owned(),
            };
            let _ = writeln!(
                body,
                "| `{}` | [{repo}](https://github.com/{repo}) | {version} | {notes} | {compare} |",
                c.attr
            );
        }
    }
    if !moved.is_empty() {
        body.push_str("\n### Because nixpkgs moved\n\nSame releases; Home Assistant's Python set changed under them.\n\n");
        for c in &moved {
            let _ = writeln!(
                body,
                "- `{}` {}",
                c.attr,
                c.new_version.as_deref().unwrap_or("?")
            );
        }
    }
    let mut dependency_lines = Vec::new();
    for c in &plan.changes {
        let before = old
            .components
            .get(&c.attr)
            .map(dependency_facts)
            .unwrap_or_default();
        let after = plan
            .lock
            .components
            .get(&c.attr)
            .map(dependency_facts)
            .unwrap_or_default();
        let mut parts = Vec::new();
        let added: Vec<String> = after
            .0
            .iter()
            .filter(|d| !before.0.contains(d))
            .map(|d| format!("`{d}`"))
            .collect();
        let removed: Vec<String> = before
            .0
            .iter()
            .filter(|d| !after.0.contains(d))
            .map(|d| format!("`{d}`"))
            .collect();
        if !added.is_empty() {
            parts.push(format!("added {}", added.join(", ")));
        }
        if !removed.is_empty() {
            parts.push(format!("removed {}", removed.join(", ")));
        }
        if before.1 != after.1 {
            parts.push(format!(
                "ignoreVersionRequirement: [{}] → [{}]",
                before.1.join(", "),
                after.1.join(", ")
            ));
        }
        let relaxed: Vec<String> = after
            .2
            .iter()
            .filter(|r| !before.2.contains(r))
            .map(|(from, to)| format!("`{}` → `{}`", inline(from), inline(to)))
            .collect();
        if !relaxed.is_empty() {
            parts.push(format!(
                "relaxed in the manifest (several version conflicts; nixpkgs' hook takes one ignoreVersionRequirement name): {}",
                relaxed.join(", ")
            ));
        }
        if !parts.is_empty() {
            dependency_lines.push(format!("- `{}`: {}", c.attr, parts.join("; ")));
        }
    }
    if !dependency_lines.is_empty() {
        body.push_str("\n### Dependency changes\n\n");
        body.push_str(&dependency_lines.join("\n"));
        body.push('\n');
    }
    let findings: Vec<(&String, &Finding)> = plan
        .findings
        .iter()
        .flat_map(|(a, fs)| fs.iter().map(move |f| (a, f)))
        .collect();
    if !findings.is_empty() {
        body.push_str("\n### Findings\n\n");
        for (attr, f) in &findings {
            let _ = writeln!(
                body,
                "- `{attr}` — {}[{}]: {}",
                f.severity,
                f.rule,
                inline(&f.message)
            );
        }
    }
    if !plan.failures.is_empty() {
        body.push_str("\n### Failed — previous pins kept\n\n");
        for f in &plan.failures {
            let _ = writeln!(
                body,
                "- `{}` — error[{}]: {}",
                f.attr,
                f.rule,
                inline(&f.message)
            );
        }
    }
    let footer = "\n---\nGenerated by `cargo xtask update-components --report`. Run `cargo xtask lint` before `nixos-rebuild`.\n";
    let mut notes = String::new();
    for (attr, release) in &plan.releases {
        let Some(text) = release.notes.as_deref().filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let repo = plan
            .lock
            .components
            .get(attr)
            .map_or("", |e| e.repo.as_str());
        let _ = write!(
            notes,
            "\n<details><summary>{attr} {}</summary>\n\n{}\n\n</details>\n",
            release.tag,
            quote_notes(text, repo)
        );
    }
    if !notes.is_empty() {
        body.push_str("\n### Release notes\n");
    }
    Some(PullRequest {
        title,
        body: fit(body, &notes, footer),
    })
}

/// Backticks and newlines would break a Markdown list item.
/// Dependencies, ignored names and relaxed requirements of a pin, for the changes section.
type DependencyFacts = (Vec<String>, Vec<String>, Vec<(String, String)>);

fn dependency_facts(entry: &crate::lock::LockEntry) -> DependencyFacts {
    let relaxed = entry
        .patches
        .relax_requirements
        .values()
        .flatten()
        .map(|(from, to)| (from.clone(), to.clone()))
        .collect();
    (
        entry.dependencies.clone(),
        entry.ignore_version_requirement.clone(),
        relaxed,
    )
}

fn inline(text: &str) -> String {
    text.replace('\n', " ")
}

/// Joins the parts, cutting the release notes (then the rest) to stay within the limit.
fn fit(head: String, notes: &str, footer: &str) -> String {
    let marker = "\n\n… (truncated to fit GitHub's limit; the release pages have the rest)\n";
    let count = |s: &str| s.chars().count();
    if count(&head) + count(notes) + count(footer) <= BODY_LIMIT {
        return format!("{head}{notes}{footer}");
    }
    let room = BODY_LIMIT.saturating_sub(count(&head) + count(footer) + count(marker));
    let mut out: String = head
        .chars()
        .take(BODY_LIMIT - count(footer) - count(marker))
        .collect();
    out.extend(notes.chars().take(room));
    out.push_str(marker);
    out.push_str(footer);
    out
}
