//! A realistic HACS catalogue served by the loopback GitHub: the real `integration` list of
//! `hacs/default` (3,177 names, Aug 2026), a `data.json` in the data service's shape for all but
//! a few of them, and blacklisted and removed repositories in the real shapes.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::github::MockGitHub;

/// The real list, as `hacs/default` publishes it.
pub fn real_list() -> Vec<String> {
    let text = include_str!("../fixtures/corpus/hacs-default-integration.json");
    serde_json::from_str(text).unwrap()
}

/// What a test says about particular entries; every other entry gets plausible data.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub domain: Option<&'static str>,
    pub name: Option<&'static str>,
    pub description: Option<&'static str>,
    pub stars: u64,
    pub topics: Vec<&'static str>,
}

/// The documents: list, data.json, blacklist, removed.
#[derive(Debug, Clone)]
pub struct Served {
    pub list: Vec<String>,
    pub data: Value,
    pub blacklist: Vec<String>,
    pub removed: Value,
}

fn domain_of(repo: &str) -> String {
    let name = repo.rsplit('/').next().unwrap().to_lowercase();
    let name = name
        .trim_start_matches("ha-")
        .trim_start_matches("hass-")
        .trim_start_matches("homeassistant-");
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The real list plus `extra` names, with data for every name except those in `undescribed`.
pub fn realistic(
    extra: &[&str],
    known: &BTreeMap<&str, Known>,
    undescribed: &[&str],
    blacklist: &[&str],
    removed: &[(&str, &str, Option<&str>)],
) -> Served {
    let mut list = real_list();
    list.extend(extra.iter().map(|s| (*s).to_owned()));
    list.sort_by_key(|s| s.to_lowercase());
    let mut data = serde_json::Map::new();
    for (i, name) in list.iter().enumerate() {
        if undescribed.contains(&name.as_str()) {
            continue;
        }
        let k = known.get(name.as_str()).cloned().unwrap_or_default();
        let domain = k.domain.map_or_else(|| domain_of(name), str::to_owned);
        let id = 100_000 + i as u64 * 7;
        data.insert(
            id.to_string(),
            json!({
                "full_name": name,
                "authors": [],
                "category": "integration",
                "description": k.description.map_or_else(|| format!("Home Assistant integration for {domain}"), str::to_owned),
                "domain": domain,
                "downloads": i % 50,
                "etag_repository": format!("W/\"{i:08x}\""),
                "last_updated": "2026-07-01T10:00:00Z",
                "last_version": format!("v1.{}.{}", i % 9, i % 4),
                "manifest_name": k.name.map_or_else(|| domain.replace('_', " "), str::to_owned),
                "open_issues": i % 13,
                "stargazers_count": if k.stars > 0 { k.stars } else { (i as u64 * 37) % 400 },
                "topics": k.topics,
                "last_fetched": 1_780_000_000.0 + i as f64,
            }),
        );
    }
    Served {
        list,
        data: Value::Object(data),
        blacklist: blacklist.iter().map(|s| (*s).to_owned()).collect(),
        removed: Value::Array(
            removed
                .iter()
                .map(|(repo, kind, reason)| {
                    let mut v = json!({ "repository": repo, "removal_type": kind });
                    if let Some(reason) = reason {
                        v["reason"] = json!(reason);
                        v["link"] = json!(format!(
                            "https://github.com/hacs/default/pull/{}",
                            repo.len() * 101
                        ));
                    }
                    v
                })
                .collect(),
        ),
    }
}

/// Serves the documents where HACS publishes them, under the mock's catalogue URLs.
pub fn serve(mock: &MockGitHub, served: &Served) {
    mock.add_page(
        "/hacs-default/integration",
        serde_json::to_vec_pretty(&served.list).unwrap(),
    );
    mock.add_page(
        "/hacs-data/integration/data.json",
        serde_json::to_vec(&served.data).unwrap(),
    );
    mock.add_page(
        "/hacs-default/blacklist",
        serde_json::to_vec_pretty(&served.blacklist).unwrap(),
    );
    mock.add_page(
        "/hacs-default/removed",
        serde_json::to_vec_pretty(&served.removed).unwrap(),
    );
}
