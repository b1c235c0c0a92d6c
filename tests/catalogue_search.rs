//! HACS's catalogue, its search and `add` by name, against a loopback server serving the real
//! `integration` list (3,177 names) with data, blacklist and removed lists in the real shapes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::BTreeMap;

use hacs_nix::catalogue::{self, Catalogue, Category, LoadMode, Resolution, Sources};
use hacs_nix::forge::{EtagCache, RepoId};
use support::catalogue::{Known, Served, realistic, serve};
use support::pipeline::{Case, shown, source_component};

fn served() -> Served {
    let known: BTreeMap<&str, Known> = [
        (
            "basnijholt/adaptive-lighting",
            Known {
                domain: Some("adaptive_lighting"),
                name: Some("Adaptive Lighting"),
                description: Some(
                    "Adaptive Lighting custom component for Home Assistant\nSecond line",
                ),
                stars: 2500,
                topics: vec!["photobiology", "lights"],
            },
        ),
        (
            "basbruss/adaptive-cover",
            Known {
                domain: Some("adaptive_cover"),
                name: Some("Adaptive Cover"),
                description: Some("Adaptive cover control based on the sun"),
                stars: 700,
                ..Known::default()
            },
        ),
        (
            "frenck/spook",
            Known {
                domain: Some("spook"),
                name: Some("Spook 👻 Your homie"),
                description: Some("A scary powerful toolbox for Home Assistant"),
                stars: 900,
                ..Known::default()
            },
        ),
        // Two integrations with one domain: `add tuya_local` cannot choose.
        (
            "make-all/tuya-local",
            Known {
                domain: Some("tuya_local"),
                stars: 1500,
                ..Known::default()
            },
        ),
        (
            "someone/tuya-local-fork",
            Known {
                domain: Some("tuya_local"),
                stars: 3,
                ..Known::default()
            },
        ),
    ]
    .into();
    realistic(
        &[
            "make-all/tuya-local",
            "someone/tuya-local-fork",
            "evil/listed-but-blacklisted",
        ],
        &known,
        &["0xAHA/airtouch4_advanced"],
        &["evil/listed-but-blacklisted", "bad/blacklisted-only"],
        &[
            (
                "gone/removed-integration",
                "remove",
                Some("Repository is archived"),
            ),
            (
                "evil/listed-but-blacklisted",
                "critical",
                Some("Sends your tokens to a third party"),
            ),
            ("quiet/removed-without-reason", "remove", None),
        ],
    )
}

fn docs(s: &Served) -> catalogue::Documents {
    catalogue::Documents {
        list: serde_json::to_string(&s.list).unwrap(),
        data: Some(s.data.to_string()),
        blacklist: serde_json::to_string(&s.blacklist).unwrap(),
        removed: s.removed.to_string(),
    }
}

#[test]
fn the_real_list_parses_with_its_data_and_refusals() {
    let s = served();
    let c = Catalogue::parse(Category::Integration, &docs(&s)).unwrap();
    // 3,177 real names + 3 added, minus the one both listed and blacklisted.
    assert_eq!(c.entries.len(), 3177 + 3 - 1);
    assert!(
        c.entries
            .iter()
            .all(|e| e.full_name != "evil/listed-but-blacklisted")
    );
    let removal = c
        .refusal(&RepoId::parse("Evil/Listed-But-Blacklisted").unwrap())
        .unwrap();
    // The removed list's reason wins over the bare blacklist entry.
    assert_eq!(removal.removal_type, "critical");
    assert!(
        removal.explain().contains("Sends your tokens"),
        "{}",
        removal.explain()
    );
    assert_eq!(
        c.refusal(&RepoId::parse("bad/blacklisted-only").unwrap())
            .unwrap()
            .removal_type,
        "blacklist"
    );
    // A listed repository the data service has not described is still an entry.
    let bare = c
        .entry(&RepoId::parse("0xAHA/airtouch4_advanced").unwrap())
        .unwrap();
    assert!(!bare.described && bare.domain.is_none());
    let spook = c.entry(&RepoId::parse("frenck/spook").unwrap()).unwrap();
    assert_eq!(spook.domain.as_deref(), Some("spook"));
    assert_eq!(spook.stars, 900);

    // Wrong shapes are named.
    let mut bad = docs(&s);
    bad.data = Some(r#"{"1": {"description": "no full_name"}}"#.to_owned());
    let e = Catalogue::parse(Category::Integration, &bad).unwrap_err();
    assert_eq!(e.rule_id(), "catalogue-invalid");
    assert!(
        e.to_string().contains("integration/data.json, key 1"),
        "{e}"
    );
}

#[test]
fn search_matches_every_term_ranks_by_stars_and_falls_back_to_fuzzy() {
    let s = served();
    let c = Catalogue::parse(Category::Integration, &docs(&s)).unwrap();
    let names = |terms: &[&str]| -> Vec<String> {
        c.search(&terms.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>())
            .iter()
            .map(|e| e.full_name.clone())
            .collect()
    };
    let adaptive = names(&["adaptive"]);
    assert_eq!(
        adaptive.first().map(String::as_str),
        Some("basnijholt/adaptive-lighting")
    );
    assert!(adaptive.contains(&"basbruss/adaptive-cover".to_owned()));
    assert!(adaptive.contains(&"jrhubott/adaptive-cover-pro".to_owned()));
    // Every term must match some field: "cover" drops adaptive-lighting.
    let cover = names(&["ADAPTIVE", "cover"]);
    assert!(!cover.contains(&"basnijholt/adaptive-lighting".to_owned()));
    assert_eq!(
        cover.first().map(String::as_str),
        Some("basbruss/adaptive-cover")
    );
    // A topic matches.
    assert_eq!(names(&["photobiology"]), ["basnijholt/adaptive-lighting"]);
    // A typo: nothing matches exactly, the approximate match finds it.
    assert_eq!(
        names(&["adaptiv", "lightng"]),
        ["basnijholt/adaptive-lighting"]
    );
    // An exact match anywhere means no fuzzy results are mixed in.
    assert!(
        names(&["spook"])
            .iter()
            .all(|n| n.to_lowercase().contains("spook"))
    );
    assert!(names(&["zzqxv"]).is_empty());
}

#[test]
fn add_resolves_domains_names_and_refuses_what_hacs_refuses() {
    let s = served();
    let c = Catalogue::parse(Category::Integration, &docs(&s)).unwrap();
    let found = |q: &str| match c.resolve(q) {
        Resolution::Found(e) => e.full_name.clone(),
        other => panic!("{q}: {other:?}"),
    };
    assert_eq!(found("adaptive_lighting"), "basnijholt/adaptive-lighting");
    assert_eq!(found("Adaptive Lighting"), "basnijholt/adaptive-lighting");
    assert_eq!(found("FRENCK/SPOOK"), "frenck/spook");
    assert_eq!(found("hass-browser_mod"), "thomasloven/hass-browser_mod");
    match c.resolve("tuya_local") {
        Resolution::Ambiguous(list) => assert_eq!(
            list.iter()
                .map(|e| e.full_name.as_str())
                .collect::<Vec<_>>(),
            ["make-all/tuya-local", "someone/tuya-local-fork"]
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.resolve("someone/not-listed"),
        Resolution::Unlisted(_)
    ));
    assert!(matches!(
        c.resolve("no_such_domain_anywhere"),
        Resolution::NotFound(_)
    ));
}

#[test]
fn loading_uses_etags_and_the_cache_offline() {
    let case = Case::new();
    serve(&case.mock, &served());
    let (lists, data) = case.mock.catalogue_urls();
    let sources = Sources { lists, data };
    let cache_dir = case.dir.path().join("cache");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let load = |mode| {
        runtime.block_on(catalogue::load(
            &sources,
            Category::Integration,
            mode,
            Some(EtagCache::new(&cache_dir)),
        ))
    };
    // Nothing cached: offline says how to fix it.
    let e = load(LoadMode::Offline).unwrap_err();
    assert_eq!(e.rule_id(), "catalogue-not-cached");
    assert!(e.to_string().contains("without --offline"), "{e}");

    let (first, requests) = load(LoadMode::Online).unwrap();
    assert_eq!(requests, 4);
    case.mock.clear_log();
    let (second, _) = load(LoadMode::Online).unwrap();
    assert_eq!(first.entries, second.entries);
    let log = case.mock.requests();
    assert_eq!(log.len(), 4);
    assert!(
        log.iter().all(|r| r.headers.contains_key("if-none-match")),
        "{log:?}"
    );
    // No GitHub token ever goes to HACS's servers.
    assert!(log.iter().all(|r| !r.headers.contains_key("authorization")));

    case.mock.clear_log();
    let (offline, requests) = load(LoadMode::Offline).unwrap();
    assert_eq!((requests, case.mock.requests().len()), (0, 0));
    assert_eq!(offline.entries, first.entries);
}

#[test]
fn search_command_shows_what_is_pinned_and_json() {
    let case = Case::new();
    serve(&case.mock, &served());
    case.want("[spook]\nrepo = \"frenck/spook\"\n");
    let out = case.run(&["search", "spook", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &doc["results"][0];
    assert_eq!(first["full_name"], "frenck/spook");
    assert_eq!(first["pinned_as"], "spook");
    assert_eq!(first["domain"], "spook");

    let out = case.run(&["search", "adaptive", "lighting"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let mut lines = text.lines();
    let head = lines.next().unwrap();
    assert!(
        head.starts_with("basnijholt/adaptive-lighting") && head.contains("★2500"),
        "{text}"
    );
    // One line of description.
    assert_eq!(
        lines.next().unwrap().trim(),
        "Adaptive Lighting custom component for Home Assistant"
    );

    // Nothing found: exit 1. Offline with the cache works; a broken server without a cache
    // ends with a clear message.
    assert_eq!(case.run(&["search", "zzqxv"]).status.code(), Some(1));
    assert_eq!(
        case.run(&["search", "spook", "--offline"]).status.code(),
        Some(0)
    );
    let fresh = Case::new();
    let out = fresh.run(&["search", "spook"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error[catalogue-missing]") && err.contains("HACS_NIX_HACS_LISTS"),
        "{err}"
    );
}

#[test]
fn add_by_domain_pins_it_and_refusals_and_ambiguity_write_nothing() {
    let mut case = Case::new();
    serve(&case.mock, &served());
    case.want("");
    case.source_release(
        "frenck/spook",
        "v3.0.0",
        "Spook",
        source_component("spook", &[]),
    );
    let out = case.run(&["add", "spook"]);
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    let toml = std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap();
    assert!(
        toml.contains("[spook]\nrepo = \"frenck/spook\"\n"),
        "{toml}"
    );
    case.build("spook").unwrap();

    let before = std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap();
    let out = case.run(&["add", "tuya_local"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("make-all/tuya-local") && err.contains("someone/tuya-local-fork"),
        "{err}"
    );
    assert!(err.contains("error[add-ambiguous]"), "{err}");

    let out = case.run(&["add", "gone/removed-integration"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error[add-refused]") && err.contains("Repository is archived"),
        "{err}"
    );
    assert!(err.contains("--force"), "{err}");
    let out = case.run(&["add", "bad/blacklisted-only"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("as blacklist"));
    let out = case.run(&["add", "no_such_domain_anywhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[add-not-found]"));
    assert_eq!(
        std::fs::read_to_string(case.pkgs().join("components.toml")).unwrap(),
        before
    );

    // --force pins a removed repository anyway, saying so.
    case.source_release(
        "gone/removed-integration",
        "v1.0.0",
        "Gone",
        source_component("gone_one", &[]),
    );
    let out = case.run(&[
        "add",
        "gone/removed-integration",
        "--force",
        "--attr",
        "gone_one",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("warning[add-refused]"), "{err}");
    assert!(case.pkgs().join("gone_one/default.nix").exists());
}
