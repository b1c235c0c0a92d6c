//! The plan's cards and themes: each wanted one pinned (or kept: not selected, frozen,
//! offline, or the same release), concurrently; one that cannot be pinned keeps its previous
//! pin.

use std::collections::BTreeMap;

use futures_util::StreamExt;

use super::{Change, Draft, Failure, UpdateOptions};
use crate::card;
use crate::config::{Components, Kind};
use crate::forge::{Choice, GitHub, RepoId};
use crate::lock::Lock;
use crate::release_source::Pinned;
use crate::theme;

impl Draft {
    pub(super) async fn pin_frontend(
        &mut self,
        components: &Components,
        old: &Lock,
        github: &GitHub,
        options: &UpdateOptions,
    ) {
        self.lock.cards = self
            .pin_each(
                components,
                &old.cards,
                Kind::Card,
                options,
                |repo, choice, previous| async move {
                    card::pin_card(github, &repo, &choice, previous.as_ref())
                        .await
                        .map_err(|e| (e.rule_id().to_owned(), e.to_string()))
                },
            )
            .await;
        self.lock.themes = self
            .pin_each(
                components,
                &old.themes,
                Kind::Theme,
                options,
                |repo, choice, previous| async move {
                    theme::pin_theme(github, &repo, &choice, previous.as_ref())
                        .await
                        .map_err(|e| (e.rule_id().to_owned(), e.to_string()))
                },
            )
            .await;
    }

    async fn pin_each<E, F, Fut>(
        &mut self,
        components: &Components,
        old: &BTreeMap<String, E>,
        kind: Kind,
        options: &UpdateOptions,
        pin: F,
    ) -> BTreeMap<String, E>
    where
        E: Pinned,
        F: Fn(RepoId, Choice, Option<E>) -> Fut,
        Fut: std::future::Future<Output = Result<(E, bool), (String, String)>>,
    {
        let selected =
            |attr: &str| options.only.is_empty() || options.only.iter().any(|o| o == attr);
        let mut pinned = BTreeMap::new();
        let mut asked = Vec::new();
        for (attr, wanted) in components.entries.iter().filter(|(_, w)| w.kind == kind) {
            let previous = old.get(attr);
            let fetchable =
                selected(attr) && !options.offline && !(wanted.frozen && previous.is_some());
            match (fetchable, wanted.repo_id(), previous) {
                (true, Some(repo), _) => {
                    asked.push((attr.clone(), repo, wanted.choice(), previous.cloned()));
                }
                (_, _, Some(entry)) => {
                    pinned.insert(attr.clone(), entry.clone());
                }
                (_, _, None) if selected(attr) => self.failures.push(Failure {
                    attr: attr.clone(),
                    rule: "offline-unpinned".to_owned(),
                    message: "not pinned yet: run `cargo xtask update-components` online to pin it"
                        .to_owned(),
                }),
                _ => {}
            }
        }
        let pin = &pin;
        let results: Vec<_> = futures_util::stream::iter(asked)
            .map(|(attr, repo, choice, previous)| async move {
                let result = pin(repo, choice, previous.clone()).await;
                (attr, previous, result)
            })
            .buffer_unordered(options.jobs.max(1))
            .collect()
            .await;
        for (attr, previous, result) in results {
            match result {
                Ok((entry, downloaded)) => {
                    self.downloads += usize::from(downloaded);
                    pinned.insert(attr, entry);
                }
                Err((rule, message)) => {
                    self.failures.push(Failure {
                        attr: attr.clone(),
                        rule,
                        message,
                    });
                    if let Some(entry) = previous {
                        pinned.insert(attr, entry);
                    }
                }
            }
        }
        pinned
    }
}

/// What changed among the cards and themes.
pub(super) fn frontend_changes(old: &Lock, new: &Lock) -> Vec<Change> {
    let mut out = changes_of(&old.cards, &new.cards);
    out.extend(changes_of(&old.themes, &new.themes));
    out
}

fn changes_of<E: Pinned>(old: &BTreeMap<String, E>, new: &BTreeMap<String, E>) -> Vec<Change> {
    let moved = |a: &E, b: &E| a.version() != b.version() || a.commit() != b.commit();
    super::diff::diff(old, new, moved, |_| false)
        .into_iter()
        .map(|d| Change {
            attr: d.attr.clone(),
            repo: d
                .new
                .or(d.old)
                .map(|e| e.repo().to_owned())
                .unwrap_or_default(),
            kind: d.kind,
            old_version: d.old.map(|e| e.version().to_owned()),
            new_version: d.new.map(|e| e.version().to_owned()),
        })
        .collect()
}
