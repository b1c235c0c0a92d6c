//! `add`'s argument through HACS's catalogue: a domain or a name becomes `owner/repo`, and
//! what HACS refuses is refused with its reason.

use hacs_nix::catalogue::{Category, Resolution};
use hacs_nix::forge::RepoId;

use crate::output::{Failure, eprint};

/// The repository to add and, when the catalogue knows it, its domain.
pub fn resolve(
    query: &str,
    force: bool,
    offline: bool,
) -> Result<(RepoId, Option<String>), Failure> {
    let catalogue = match super::search::load(Category::Integration, offline) {
        Ok(c) => c,
        Err(failure) => {
            // An owner/repo needs no catalogue; a name does.
            let Some(repo) = RepoId::parse(query) else {
                return Err(Failure {
                    help: Some(format!(
                        "{}; or give the repository as owner/repo",
                        failure.help.unwrap_or_default()
                    )),
                    ..failure
                });
            };
            eprint(&format!(
                "warning[catalogue-unavailable]: {}: whether HACS blacklisted or removed {repo} was not checked\n",
                failure.message
            ));
            return Ok((repo, None));
        }
    };
    let listed = |e: &hacs_nix::catalogue::Entry| {
        format!(
            "  {:<45} {:<24} ★{}\n",
            e.full_name,
            e.domain.as_deref().unwrap_or("-"),
            e.stars
        )
    };
    let (repo, domain) = match catalogue.resolve(query) {
        Resolution::Found(entry) => match entry.repo_id() {
            Some(repo) => (repo, entry.domain.clone()),
            None => {
                return Err(Failure::could_not_run(
                    "catalogue-invalid",
                    format!("HACS lists `{}`, which is not owner/repo", entry.full_name),
                    None,
                    None,
                ));
            }
        },
        Resolution::Unlisted(repo) => (repo, None),
        Resolution::Ambiguous(entries) => {
            let list: String = entries.iter().map(|e| listed(e)).collect();
            eprint(&format!(
                "{} entries of HACS's catalogue answer to `{query}`:\n{list}",
                entries.len()
            ));
            return Err(Failure {
                code: 1,
                ..Failure::could_not_run(
                    "add-ambiguous",
                    format!("`{query}` is ambiguous"),
                    None,
                    Some("add one of them by owner/repo"),
                )
            });
        }
        Resolution::NotFound(close) => {
            if !close.is_empty() {
                let list: String = close.iter().map(|e| listed(e)).collect();
                eprint(&format!("Closest matches:\n{list}"));
            }
            return Err(Failure {
                code: 1,
                ..Failure::could_not_run(
                    "add-not-found",
                    format!("no integration in HACS's catalogue has the domain or name `{query}`"),
                    None,
                    Some("try `cargo xtask search <words>`, or give owner/repo"),
                )
            });
        }
    };
    if let Some(removal) = catalogue.refusal(&repo) {
        if !force {
            return Err(Failure {
                code: 1,
                ..Failure::could_not_run(
                    "add-refused",
                    removal.explain(),
                    None,
                    Some("HACS will not install it; --force adds it anyway"),
                )
            });
        }
        eprint(&format!(
            "warning[add-refused]: {} (added anyway: --force)\n",
            removal.explain()
        ));
    }
    Ok((repo, domain))
}
