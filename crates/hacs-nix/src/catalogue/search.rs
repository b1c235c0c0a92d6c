//! The store's search as HACS does it: every term must match one of the entry's name,
//! description, domain, full name or topics; exact (case-insensitive) substrings first, and an
//! approximate match only when nothing matches exactly. Results are ranked by stars.
//!
//! HACS's frontend uses Fuse.js with a threshold of 0.2, roughly "at most one error in five
//! characters". No crate offers approximate *substring* matching (edit distance to the best
//! window of a field) without pulling in a search engine, so it is written here (Sellers'
//! algorithm, a few lines).

use super::{Catalogue, Entry};
use crate::forge::RepoId;

/// What `add <query>` resolves to.
#[derive(Debug)]
pub enum Resolution<'a> {
    Found(&'a Entry),
    /// Several entries answer to the name: the user must choose.
    Ambiguous(Vec<&'a Entry>),
    /// An `owner/repo` HACS does not list: allowed (any GitHub repository can be pinned).
    Unlisted(RepoId),
    /// Nothing answers to it; the closest matches of a search, if any.
    NotFound(Vec<&'a Entry>),
}

fn fields(entry: &Entry) -> impl Iterator<Item = &str> {
    [
        entry.name.as_deref(),
        entry.description.as_deref(),
        entry.domain.as_deref(),
        Some(entry.full_name.as_str()),
    ]
    .into_iter()
    .flatten()
    .chain(entry.topics.iter().map(String::as_str))
}

/// True when some window of `text` is within HACS's fuzzy threshold of `term` (both lower-case).
pub fn fuzzy_contains(text: &str, term: &str) -> bool {
    let pattern: Vec<char> = term.chars().collect();
    if pattern.len() < 3 {
        return false;
    }
    let allowed = pattern.len() / 5;
    if allowed == 0 {
        return text.contains(term);
    }
    // Sellers: the edit distance of the pattern to the best substring ending at each position.
    let mut column: Vec<usize> = (0..=pattern.len()).collect();
    for c in text.chars() {
        let mut diagonal = 0;
        column[0] = 0;
        for i in 1..=pattern.len() {
            let above = column[i];
            let cost = usize::from(pattern[i - 1] != c);
            column[i] = (diagonal + cost).min(above + 1).min(column[i - 1] + 1);
            diagonal = above;
        }
        if column[pattern.len()] <= allowed {
            return true;
        }
    }
    false
}

impl Catalogue {
    /// Entries matching every term, best (most stars) first.
    pub fn search(&self, terms: &[String]) -> Vec<&Entry> {
        let terms: Vec<String> = terms
            .iter()
            .flat_map(|t| t.split_whitespace())
            .map(str::to_lowercase)
            .collect();
        let matching = |fuzzy: bool| -> Vec<&Entry> {
            self.entries
                .iter()
                .filter(|entry| {
                    let texts: Vec<String> = fields(entry).map(str::to_lowercase).collect();
                    terms.iter().all(|term| {
                        texts.iter().any(|text| {
                            if fuzzy {
                                fuzzy_contains(text, term)
                            } else {
                                text.contains(term.as_str())
                            }
                        })
                    })
                })
                .collect()
        };
        let mut found = matching(false);
        if found.is_empty() {
            found = matching(true);
        }
        found.sort_by(|a, b| {
            b.stars
                .cmp(&a.stars)
                .then_with(|| a.full_name.to_lowercase().cmp(&b.full_name.to_lowercase()))
        });
        found
    }

    /// `add`'s argument: an `owner/repo`, a domain, an integration's name or a repository's
    /// name, matched case-insensitively.
    pub fn resolve(&self, query: &str) -> Resolution<'_> {
        let wanted = query.trim().to_lowercase();
        if let Some(repo) = RepoId::parse(query) {
            return match self.entry(&repo) {
                Some(entry) => Resolution::Found(entry),
                None => Resolution::Unlisted(repo),
            };
        }
        let same = |s: Option<&str>| s.is_some_and(|s| s.to_lowercase() == wanted);
        let mut by_domain: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| same(e.domain.as_deref()))
            .collect();
        if by_domain.is_empty() {
            by_domain = self
                .entries
                .iter()
                .filter(|e| same(e.name.as_deref()) || same(Some(e.repo_name())))
                .collect();
        }
        by_domain.sort_by_key(|e| std::cmp::Reverse(e.stars));
        match by_domain.len() {
            0 => Resolution::NotFound(self.search(&[wanted]).into_iter().take(5).collect()),
            1 => by_domain
                .first()
                .map_or(Resolution::NotFound(Vec::new()), |e| Resolution::Found(e)),
            _ => Resolution::Ambiguous(by_domain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fuzzy_contains;

    #[test]
    fn one_error_in_five_characters() {
        assert!(fuzzy_contains("adaptive lighting", "adaptiv lighting"));
        assert!(fuzzy_contains("browser_mod", "browsr"));
        assert!(!fuzzy_contains("browser_mod", "brwsr"));
        // Short terms must match exactly.
        assert!(!fuzzy_contains("spook", "spk"));
        assert!(fuzzy_contains("spook", "spoo"));
    }
}
