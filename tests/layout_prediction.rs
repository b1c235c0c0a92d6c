//! Layout predictions on realistic trees built as real archives: where HACS finds the
//! integration, which manifests nixpkgs' hook reads, and the failures predicted before a build.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hacs_nix::archive::{self, UnpackOptions};
use hacs_nix::layout::{self, Fix, LayoutOptions, SourceKind};
use hacs_nix::tree::Tree;
use proptest::prelude::*;
use support::craft::{self, dir, file, tar_gz};

const MANIFEST: &str = r#"{"domain": "hacs", "name": "HACS", "codeowners": [], "documentation": "https://hacs.xyz", "iot_class": "cloud_polling", "issue_tracker": "https://github.com/hacs/integration/issues", "requirements": ["aiogithubapi>=22.10.1"], "version": "0.0.0"}"#;
/// The web-app manifest HACS bundles with its frontend: no `domain`.
const WEB_MANIFEST: &str = r#"{"name": "HACS", "short_name": "HACS", "start_url": "/hacsfiles/", "display": "standalone"}"#;

fn hacs_zip(version: &str) -> Tree {
    let manifest = MANIFEST.replace("0.0.0", version);
    let zip = craft::zip(&[
        ("__init__.py", 0o644, b"".as_slice()),
        ("manifest.json", 0o644, manifest.as_bytes()),
        ("hacs_frontend/", 0o755, b""),
        ("hacs_frontend/__init__.py", 0o644, b""),
        (
            "hacs_frontend/manifest.json",
            0o644,
            WEB_MANIFEST.as_bytes(),
        ),
    ]);
    let options = UnpackOptions {
        strip_root: false,
        ..UnpackOptions::default()
    };
    archive::unpack_bytes(zip, &options).unwrap().1
}

fn source(members: &[Vec<u8>]) -> Tree {
    archive::unpack_bytes(tar_gz(members), &UnpackOptions::default())
        .unwrap()
        .1
}

fn options(tag: Option<&str>, prefix: &str) -> LayoutOptions {
    LayoutOptions {
        tag: tag.map(str::to_owned),
        prefix: prefix.to_owned(),
        label: String::new(),
    }
}

fn rules(layout: &layout::Layout) -> Vec<&'static str> {
    let mut r: Vec<_> = layout.findings.iter().map(|f| f.rule).collect();
    r.sort_unstable();
    r
}

#[test]
fn hacs_zip_keyerror_fires_only_at_the_wrong_unpack_level() {
    // Right level: the zip's root is the integration (fetchzip { stripRoot = false; }).
    let mut tree = hacs_zip("2.0.5");
    let right = layout::analyse(
        &mut tree,
        SourceKind::ReleaseAsset,
        &options(Some("2.0.5"), ""),
    );
    assert_eq!(right.hook_manifests, ["manifest.json"]);
    assert!(
        !rules(&right).contains(&"layout-hook-keyerror"),
        "{:#?}",
        right.findings
    );
    // The 25.05-era hook read every manifest.json: a warning says so.
    assert!(rules(&right).contains(&"layout-legacy-hook-keyerror"));
    assert_eq!(right.integration_dir.as_deref(), Some(""));
    assert_eq!(
        right.manifest.as_ref().unwrap().domain.as_deref(),
        Some("hacs")
    );

    // Wrong level: the zip's content placed as `custom_components/` (one level too high).
    let wrong = layout::analyse(
        &mut tree,
        SourceKind::ReleaseAsset,
        &options(Some("2.0.5"), "custom_components"),
    );
    assert_eq!(
        wrong.hook_manifests,
        ["custom_components/hacs_frontend/manifest.json"]
    );
    let keyerror = wrong
        .findings
        .iter()
        .find(|f| f.rule == "layout-hook-keyerror")
        .expect("KeyError predicted");
    assert!(
        keyerror.message.contains("KeyError: 'domain'")
            && keyerror
                .location
                .file
                .contains("hacs_frontend/manifest.json")
    );
}

#[test]
fn placeholder_version_is_stamped_from_the_tag() {
    let mut tree = hacs_zip("0.0.0");
    let layout = layout::analyse(
        &mut tree,
        SourceKind::ReleaseAsset,
        &options(Some("2.0.5"), ""),
    );
    assert!(rules(&layout).contains(&"layout-version-placeholder"));
    assert_eq!(
        layout.fixes,
        [Fix::StampVersion {
            manifest: "manifest.json".to_owned(),
            version: "2.0.5".to_owned()
        }]
    );

    // localtuya: tag v5.2.4, manifest 5.2.3.
    let manifest = MANIFEST
        .replace("\"hacs\"", "\"localtuya\"")
        .replace("0.0.0", "5.2.3");
    let mut tree = source(&[
        dir("localtuya-5.2.4/custom_components/localtuya/"),
        file(
            "localtuya-5.2.4/custom_components/localtuya/manifest.json",
            manifest.as_bytes(),
        ),
    ]);
    let layout = layout::analyse(
        &mut tree,
        SourceKind::SourceArchive,
        &options(Some("v5.2.4"), ""),
    );
    assert!(rules(&layout).contains(&"layout-version-drift"));
    assert!(
        layout.fixes.is_empty(),
        "a valid manifest version is never rewritten: {:?}",
        layout.fixes
    );
}

/// Which versions are stamped: only placeholders and versions the loader refuses, only with a
/// tag-derived version the loader accepts.
#[test]
fn versions_worth_stamping() {
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("0.0.0", "1.69-Release", None, "layout-version-unstampable"),
        (
            "0.0.0",
            "v.3.4.2",
            Some("3.4.2"),
            "layout-version-placeholder",
        ),
        (
            "v0.0.0",
            "v1.2.3",
            Some("1.2.3"),
            "layout-version-placeholder",
        ),
        (
            "0.0.0-dev0",
            "2.0.0",
            Some("2.0.0"),
            "layout-version-placeholder",
        ),
        (
            "0.0.0.dev0",
            "V2.0.1",
            Some("2.0.1"),
            "layout-version-placeholder",
        ),
        ("dev", "2.0.0", Some("2.0.0"), "layout-version-placeholder"),
        // A valid tag lower than the manifest's version: warned about, never a downgrade.
        ("2.1.0", "v2.0.9", None, "layout-version-drift"),
        ("0.1.1", "v1.25.0", None, "layout-version-drift"),
        // The loader refuses the manifest's version: stamped when the tag gives a good one.
        ("main", "v1.4.0", Some("1.4.0"), "layout-version-stamped"),
        (
            "%%%VERSION%%%",
            "1.0.0$(touch x)",
            None,
            "layout-version-unstampable",
        ),
    ];
    for (version, tag, stamped, rule) in cases {
        let manifest = MANIFEST
            .replace("\"hacs\"", "\"demo\"")
            .replace("\"0.0.0\"", &serde_json::to_string(version).unwrap());
        let mut tree = source(&[
            dir("d/custom_components/demo/"),
            file(
                "d/custom_components/demo/manifest.json",
                manifest.as_bytes(),
            ),
        ]);
        let layout = layout::analyse(
            &mut tree,
            SourceKind::SourceArchive,
            &options(Some(tag), ""),
        );
        let stamp = layout.fixes.iter().find_map(|f| match f {
            Fix::StampVersion { version, .. } => Some(version.as_str()),
            _ => None,
        });
        assert_eq!(stamp, *stamped, "{version} at {tag}");
        assert!(
            rules(&layout).contains(rule),
            "{version} at {tag}: {:?}",
            rules(&layout)
        );
        if let Some(stamp) = stamp {
            assert!(
                hacs_nix::manifest::version::classify(stamp).is_some(),
                "a stamped version passes the loader's rule"
            );
        }
    }
}

#[test]
fn source_archive_folder_differs_from_domain() {
    let manifest = MANIFEST
        .replace("\"hacs\"", "\"midea_ac\"")
        .replace("0.0.0", "1.0.0");
    let mut tree = source(&[
        dir("repo-1.0.0/custom_components/midea_ac_lan/"),
        file(
            "repo-1.0.0/custom_components/midea_ac_lan/manifest.json",
            manifest.as_bytes(),
        ),
        file("repo-1.0.0/hacs.json", br#"{"name": "Midea"}"#),
    ]);
    let layout = layout::analyse(
        &mut tree,
        SourceKind::SourceArchive,
        &options(Some("1.0.0"), ""),
    );
    assert_eq!(rules(&layout), ["layout-domain-folder-mismatch"]);
    assert_eq!(
        layout.fixes,
        [Fix::InstallAsDomain {
            folder: "midea_ac_lan".to_owned(),
            domain: "midea_ac".to_owned()
        }]
    );
    assert_eq!(
        layout.hook_manifests,
        ["custom_components/midea_ac_lan/manifest.json"]
    );
    assert_eq!(layout.hacs.unwrap().name.as_deref(), Some("Midea"));
}

#[test]
fn several_integrations_first_alphabetically_and_spook_style_sub_integrations() {
    let a = MANIFEST
        .replace("\"hacs\"", "\"alpha\"")
        .replace("0.0.0", "1.0.0");
    let b = MANIFEST
        .replace("\"hacs\"", "\"beta\"")
        .replace("0.0.0", "1.0.0");
    let inner = MANIFEST
        .replace("\"hacs\"", "\"alpha_inverse\"")
        .replace("0.0.0", "1.0.0");
    let mut tree = source(&[
        file("r-1/custom_components/beta/manifest.json", b.as_bytes()),
        file("r-1/custom_components/alpha/manifest.json", a.as_bytes()),
        file(
            "r-1/custom_components/alpha/integrations/alpha_inverse/manifest.json",
            inner.as_bytes(),
        ),
        // A test fixture: outside the hook's patterns, harmless today.
        file(
            "r-1/tests/fixtures/manifest.json",
            br#"{"name": "fixture"}"#,
        ),
    ]);
    let layout = layout::analyse(&mut tree, SourceKind::SourceArchive, &options(None, ""));
    assert_eq!(
        layout.integration_dir.as_deref(),
        Some("custom_components/alpha")
    );
    assert_eq!(
        layout.hook_manifests,
        [
            "custom_components/alpha/integrations/alpha_inverse/manifest.json",
            "custom_components/alpha/manifest.json",
            "custom_components/beta/manifest.json"
        ]
    );
    assert_eq!(
        rules(&layout),
        ["layout-legacy-hook-keyerror", "layout-several-integrations"]
    );
}

#[test]
fn nothing_for_the_hook_to_read() {
    // A zip_release asset whose files sit in a folder, unpacked with stripRoot = false.
    let zip = craft::zip(&[
        ("hacs/", 0o755, b"".as_slice()),
        ("hacs/manifest.json", 0o644, MANIFEST.as_bytes()),
    ]);
    let mut tree = archive::unpack_bytes(
        zip,
        &UnpackOptions {
            strip_root: false,
            ..UnpackOptions::default()
        },
    )
    .unwrap()
    .1;
    let layout = layout::analyse(&mut tree, SourceKind::ReleaseAsset, &options(None, ""));
    assert!(
        rules(&layout).contains(&"layout-no-manifests"),
        "{:#?}",
        layout.findings
    );
    assert!(rules(&layout).contains(&"layout-manifest-missing"));

    let mut tree = source(&[file("repo-1/README.md", b"# nothing here")]);
    let layout = layout::analyse(&mut tree, SourceKind::SourceArchive, &options(None, ""));
    assert!(
        rules(&layout).contains(&"layout-no-integration"),
        "{:#?}",
        layout.findings
    );
    assert!(rules(&layout).contains(&"layout-no-manifests"));
}

#[test]
fn content_in_root_and_a_missing_domain_in_the_hooks_path() {
    let no_domain = r#"{"name": "X", "version": "1.0.0"}"#;
    let mut tree = source(&[
        file(
            "repo-1/hacs.json",
            br#"{"name": "X", "content_in_root": true}"#,
        ),
        file("repo-1/manifest.json", no_domain.as_bytes()),
        file("repo-1/__init__.py", b""),
    ]);
    let layout = layout::analyse(&mut tree, SourceKind::SourceArchive, &options(None, ""));
    assert_eq!(layout.integration_dir.as_deref(), Some(""));
    let rules = rules(&layout);
    assert!(
        rules.contains(&"manifest-domain-missing") && rules.contains(&"layout-hook-keyerror"),
        "{rules:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random trees with random bytes where manifests and hacs.json are expected: the layout
    /// room always returns, never panics, and reports at least one finding when the tree has no
    /// readable integration.
    #[test]
    fn layout_never_panics(
        entries in proptest::collection::vec(
            (
                proptest::sample::select(vec![
                    "manifest.json", "hacs.json", "custom_components/a/manifest.json", "custom_components/b/manifest.json",
                    "custom_components/a/integrations/x/manifest.json", "custom_components/a", "custom_components",
                    "sub/manifest.json", "custom_components/a/manifest.json/x",
                ]),
                proptest::collection::vec(any::<u8>(), 0..120),
            ),
            0..8,
        ),
        asset in any::<bool>(),
        prefix in proptest::sample::select(vec!["", "custom_components", "x/y"]),
        tag in proptest::option::of("[v]?[0-9]\\.[0-9]"),
    ) {
        let mut members = vec![dir("r-1/")];
        for (path, bytes) in &entries {
            members.push(file(&format!("r-1/{path}"), bytes));
        }
        // Conflicting paths make the archive invalid; that is the archive room's business.
        let Ok((_, mut tree)) = archive::unpack_bytes(tar_gz(&members), &UnpackOptions::default()) else {
            return Ok(());
        };
        let kind = if asset { SourceKind::ReleaseAsset } else { SourceKind::SourceArchive };
        let layout = layout::analyse(&mut tree, kind, &options(tag.as_deref(), prefix));
        if layout.manifest.is_none() {
            prop_assert!(!layout.findings.is_empty());
        }
    }

    /// Arbitrary bytes as an archive: refused or analysed, never a panic.
    #[test]
    fn arbitrary_archive_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600), zip in any::<bool>()) {
        let bytes = if zip { [b"PK\x03\x04".as_slice(), &bytes].concat() } else { craft::gzip(&bytes) };
        if let Ok((_, mut tree)) = archive::unpack_bytes(bytes, &UnpackOptions { strip_root: false, ..UnpackOptions::default() }) {
            let _ = hacs_nix::nar::hash_tree(&mut tree);
            layout::analyse(&mut tree, SourceKind::ReleaseAsset, &options(None, ""));
        }
    }
}

/// A `zip_release` repository's source archive: HACS installs the asset, so `check` says so
/// first, and the version findings speak of this archive, not of what HACS would show.
#[test]
fn zip_release_source_archive_points_at_the_asset() {
    let mut tree = source(&[
        dir("p-1.0/custom_components/powercalc/"),
        file(
            "p-1.0/custom_components/powercalc/manifest.json",
            MANIFEST.replace("\"hacs\"", "\"powercalc\"").as_bytes(),
        ),
        file(
            "p-1.0/hacs.json",
            br#"{"name":"Powercalc","zip_release":true,"filename":"powercalc.zip"}"#,
        ),
    ]);
    let layout = layout::analyse(
        &mut tree,
        SourceKind::SourceArchive,
        &options(Some("v1.25.0"), ""),
    );
    assert_eq!(layout.findings[0].rule, "layout-zip-release");
    assert!(layout.findings[0].message.contains("`powercalc.zip`"));
    let version = layout
        .findings
        .iter()
        .find(|f| f.rule == "layout-version-placeholder")
        .unwrap();
    assert!(
        version
            .message
            .contains("stamps the version into the `powercalc.zip` asset")
            && !version
                .message
                .contains("Home Assistant and HACS would show"),
        "{}",
        version.message
    );
}
