//! The plan's cards: each wanted card pinned (or kept: not selected, frozen, offline, or the
//! same release), concurrently; a card that cannot be pinned keeps its previous pin.

use futures_util::StreamExt;

use super::{Change, ChangeKind, Draft, Failure, ReleaseInfo, UpdateOptions};
use crate::card::{self, CardEntry};
use crate::config::{Components, Kind};
use crate::forge::GitHub;
use crate::lock::Lock;

impl Draft {
    pub(super) async fn pin_cards(
        &mut self,
        components: &Components,
        old: &Lock,
        github: &GitHub,
        options: &UpdateOptions,
    ) {
        let selected =
            |attr: &str| options.only.is_empty() || options.only.iter().any(|o| o == attr);
        let mut asked = Vec::new();
        for (attr, wanted) in components
            .entries
            .iter()
            .filter(|(_, w)| w.kind == Kind::Card)
        {
            let previous = old.cards.get(attr);
            let fetchable =
                selected(attr) && !options.offline && !(wanted.frozen && previous.is_some());
            match (fetchable, wanted.repo_id(), previous) {
                (true, Some(repo), _) => {
                    asked.push((attr.clone(), repo, wanted.choice(), previous))
                }
                (_, _, Some(entry)) => {
                    self.lock.cards.insert(attr.clone(), entry.clone());
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
        let results: Vec<_> = futures_util::stream::iter(asked)
            .map(|(attr, repo, choice, previous)| async move {
                let result = card::pin_card(github, &repo, &choice, previous).await;
                (attr, previous, result)
            })
            .buffer_unordered(options.jobs.max(1))
            .collect()
            .await;
        for (attr, previous, result) in results {
            match result {
                Ok((entry, downloaded)) => {
                    if downloaded {
                        self.downloads += 1;
                        if let Some(changelog) = &entry.meta.changelog {
                            self.releases.insert(
                                attr.clone(),
                                ReleaseInfo {
                                    tag: entry.version.clone(),
                                    url: Some(changelog.clone()),
                                    notes: None,
                                },
                            );
                        }
                    }
                    self.lock.cards.insert(attr, entry);
                }
                Err(e) => {
                    self.failures.push(Failure {
                        attr: attr.clone(),
                        rule: e.rule_id().to_owned(),
                        message: e.to_string(),
                    });
                    if let Some(entry) = previous {
                        self.lock.cards.insert(attr, entry.clone());
                    }
                }
            }
        }
    }
}

/// What changed among the cards.
pub(super) fn card_changes(old: &Lock, new: &Lock) -> Vec<Change> {
    let change = |attr: &String, entry: &CardEntry, kind, old_version, new_version| Change {
        attr: attr.clone(),
        repo: entry.repo.clone(),
        kind,
        old_version,
        new_version,
    };
    let mut out = Vec::new();
    for (attr, entry) in &new.cards {
        let kind = match old.cards.get(attr) {
            None => ChangeKind::Added,
            Some(prev) if prev.version != entry.version || prev.commit != entry.commit => {
                ChangeKind::Updated
            }
            Some(prev) if prev != entry => ChangeKind::Regenerated,
            Some(_) => continue,
        };
        let before = old.cards.get(attr).map(|e| e.version.clone());
        out.push(change(
            attr,
            entry,
            kind,
            before,
            Some(entry.version.clone()),
        ));
    }
    for (attr, entry) in &old.cards {
        if !new.cards.contains_key(attr) {
            out.push(change(
                attr,
                entry,
                ChangeKind::Removed,
                Some(entry.version.clone()),
                None,
            ));
        }
    }
    out
}
