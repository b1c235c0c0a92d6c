//! `add`'s argument through HACS's catalogue: a domain or a name becomes `owner/repo`, and
//! what HACS refuses is refused with its reason.

use hacs_nix::catalogue::{Category, Resolution};
use hacs_nix::config::Kind;
use hacs_nix::forge::RepoId;

use crate::output::{Failure, eprint};

/// The repository to add, its domain when the catalogue knows it, and its kind: as asked, else
/// the HACS category that lists it (integrations first, then cards, then themes); `None` when
/// neither says (the repository's contents will).
pub fn resolve(
    query: &str,
    force: bool,
    offline: bool,
    kind: Option<Kind>,
) -> Result<(RepoId, Option<String>, Option<Kind>), Failure> {
    let categories: &[(Category, Kind)] = match kind {
        Some(Kind::Integration) => &[(Category::Integration, Kind::Integration)],
        Some(Kind::Card) => &[(Category::Plugin, Kind::Card)],
        Some(Kind::Theme) => &[(Category::Theme, Kind::Theme)],
        None => &[
            (Category::Integration, Kind::Integration),
            (Category::Plugin, Kind::Card),
            (Category::Theme, Kind::Theme),
        ],
    };
    let mut fallback = None;
    for (i, (category, found_kind)) in categories.iter().enumerate() {
        let last = i + 1 == categories.len();
        match resolve_in(*category, query, force, offline, i == 0, last)? {
            Some((repo, domain, listed)) if listed || last => {
                return Ok((repo, domain, kind.or(listed.then_some(*found_kind))));
            }
            // Not listed in this category: remember it, and look in the next one.
            Some((repo, domain, _)) => {
                fallback.get_or_insert((repo, domain));
            }
            None => {}
        }
    }
    let (repo, domain) = fallback.ok_or_else(|| Failure {
        code: 1,
        ..Failure::could_not_run(
            "add-not-found",
            format!("nothing in HACS's catalogue has the domain or name `{query}`"),
            None,
            Some("try `cargo xtask search <words>`, or give owner/repo"),
        )
    })?;
    Ok((repo, domain, kind))
}

/// One category: `Some((repo, domain, listed))`, or `None` when a name is not in it (and
/// this is not the last category asked, whose failure is the user's answer) or when a later
/// category's catalogue cannot be read.
fn resolve_in(
    category: Category,
    query: &str,
    force: bool,
    offline: bool,
    first: bool,
    last: bool,
) -> Result<Option<(RepoId, Option<String>, bool)>, Failure> {
    let catalogue = match super::search::load(category, offline) {
        Ok(c) => c,
        Err(_) if !first && RepoId::parse(query).is_none() => return Ok(None),
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
            // The lists of refusals are the same for every category: said once.
            if first {
                eprint(&format!(
                    "warning[catalogue-unavailable]: {}: whether HACS blacklisted or removed {repo} was not checked\n",
                    failure.message
                ));
            }
            return Ok(Some((repo, None, false)));
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
    let (repo, domain, listed) = match catalogue.resolve(query) {
        Resolution::Found(entry) => match entry.repo_id() {
            Some(repo) => (repo, entry.domain.clone(), true),
            None => {
                return Err(Failure::could_not_run(
                    "catalogue-invalid",
                    format!("HACS lists `{}`, which is not owner/repo", entry.full_name),
                    None,
                    None,
                ));
            }
        },
        Resolution::Unlisted(repo) => (repo, None, false),
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
        Resolution::NotFound(_) if !last => return Ok(None),
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
    Ok(Some((repo, domain, listed)))
}
