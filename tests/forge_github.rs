//! The GitHub room against a loopback GitHub following GitHub's REST shapes: which release is
//! chosen, the bytes and hash obtained, the error texts, and how many requests each URL got.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hacs_nix::fetch::{self, FetchRequest, Fetcher, SourcePreference};
use hacs_nix::forge::{Choice, ForgeError, GitHub, RepoId};
use serde_json::json;
use support::craft::{self, dir, file, tar_gz};
use support::github::{Fault, MockGitHub, Repo, info, release};
use support::oracle;

use support::github::test_settings as settings;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn repo(name: &str) -> RepoId {
    RepoId::parse(name).unwrap()
}

fn commits(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHA_MAIN: &str = "cccccccccccccccccccccccccccccccccccccccc";

/// Releases over three pages (two per page): a draft, a pre-release, then releases.
fn paged_repo(mock: &MockGitHub) {
    mock.state.lock().unwrap().page_size = 2;
    mock.add_repo(
        "o/r",
        Repo {
            info: info("A repository", Some("MIT")),
            releases: vec![
                release("3.0.0", true, false, &[]),
                release("2.1.0b1", false, true, &[]),
                release("2.0.0", false, false, &[]),
                release("1.0.0", false, false, &[]),
                release("0.9.0", false, false, &[]),
            ],
            commits: commits(&[
                ("2.0.0", SHA_A),
                ("2.1.0b1", SHA_B),
                ("1.0.0", SHA_B),
                ("0.5.0", SHA_B),
                ("main", SHA_MAIN),
            ]),
            files: HashMap::new(),
        },
    );
}

#[test]
fn chooses_like_hacs_across_pages() {
    let mock = MockGitHub::start();
    paged_repo(&mock);
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let rt = runtime();

    let latest = rt
        .block_on(gh.choose(&repo("o/r"), &Choice::Latest))
        .unwrap();
    assert_eq!(
        (latest.version.as_str(), latest.commit.as_str()),
        ("2.0.0", SHA_A)
    );
    assert!(latest.is_tag && latest.release.is_some());
    assert_eq!(mock.count("/api/repos/o/r/releases?per_page=100"), 1);
    assert_eq!(mock.count("/api/repos/o/r/releases?per_page=2&page=2"), 1);
    assert_eq!(
        mock.count("/api/repos/o/r/releases?per_page=2&page=3"),
        1,
        "all pages are read"
    );

    let pre = rt
        .block_on(gh.choose(&repo("o/r"), &Choice::LatestIncludingPrereleases))
        .unwrap();
    assert_eq!(pre.version, "2.1.0b1", "the draft is skipped even then");
    let pinned = rt
        .block_on(gh.choose(&repo("o/r"), &Choice::Tag("1.0.0".into())))
        .unwrap();
    assert_eq!(
        (pinned.version.as_str(), pinned.commit.as_str()),
        ("1.0.0", SHA_B)
    );
    let tag_only = rt
        .block_on(gh.choose(&repo("o/r"), &Choice::Tag("0.5.0".into())))
        .unwrap();
    assert!(
        tag_only.release.is_none() && tag_only.is_tag,
        "a pinned tag without a release"
    );
    let missing = rt
        .block_on(gh.choose(&repo("o/r"), &Choice::Tag("9.9.9".into())))
        .unwrap_err();
    assert!(
        matches!(missing, ForgeError::NotFound { .. }) && missing.to_string().contains("9.9.9"),
        "{missing}"
    );

    let info = rt.block_on(gh.repo_info(&repo("o/r"))).unwrap();
    assert_eq!(
        (
            info.description.as_deref(),
            info.license.as_deref(),
            info.homepage.as_deref()
        ),
        (
            Some("A repository"),
            Some("MIT"),
            Some("https://example.org")
        )
    );
    let err = rt
        .block_on(gh.choose(&repo("o/none"), &Choice::Latest))
        .unwrap_err();
    assert_eq!(err.rule_id(), "github-not-found");
}

#[test]
fn no_releases_means_the_default_branch() {
    let mock = MockGitHub::start();
    mock.add_repo(
        "o/plain",
        Repo {
            info: info("x", Some("NOASSERTION")),
            commits: commits(&[("main", SHA_MAIN)]),
            ..Repo::default()
        },
    );
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let rt = runtime();
    let chosen = rt
        .block_on(gh.choose(&repo("o/plain"), &Choice::Latest))
        .unwrap();
    assert_eq!(
        (
            chosen.version.as_str(),
            chosen.commit.as_str(),
            chosen.is_tag
        ),
        ("ccccccc", SHA_MAIN, false)
    );
    assert_eq!(
        GitHub::source_archive_url(&repo("o/plain"), &chosen),
        format!("https://github.com/o/plain/archive/{SHA_MAIN}.tar.gz")
    );
    assert_eq!(
        rt.block_on(gh.repo_info(&repo("o/plain"))).unwrap().license,
        None,
        "NOASSERTION is no licence"
    );
}

#[test]
fn etag_cache_makes_a_rerun_cost_only_304s() {
    let mock = MockGitHub::start();
    paged_repo(&mock);
    let cache = tempfile::tempdir().unwrap();
    let rt = runtime();
    let first = GitHub::new(settings(&mock, Some(cache.path()), None)).unwrap();
    rt.block_on(first.choose(&repo("o/r"), &Choice::Latest))
        .unwrap();
    let sent_first = first.requests();
    mock.clear_log();

    // A new process: only the cache on disk carries over.
    let second = GitHub::new(settings(&mock, Some(cache.path()), None)).unwrap();
    let again = rt
        .block_on(second.choose(&repo("o/r"), &Choice::Latest))
        .unwrap();
    assert_eq!(again.version, "2.0.0");
    assert_eq!(second.requests(), sent_first);
    let requests = mock.requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(
            r.headers.contains_key("if-none-match"),
            "{} was not conditional",
            r.path
        );
    }
}

#[test]
fn rate_limits_retries_and_tokens() {
    let mock = MockGitHub::start();
    paged_repo(&mock);
    let rt = runtime();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();

    // Exhausted primary limit: no retry, a message with the reset time and what to do.
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(
            403,
            vec![
                ("X-RateLimit-Remaining", "0".into()),
                ("X-RateLimit-Reset", (now + 1800).to_string()),
            ],
            r#"{"message":"API rate limit exceeded for 127.0.0.1."}"#.into(),
        )],
    );
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let err = rt.block_on(gh.repo_info(&repo("o/r"))).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ForgeError::RateLimited { .. }), "{err}");
    assert!(
        text.contains("resets at") && text.contains("(in 30 min)") && text.contains("GITHUB_TOKEN"),
        "{text}"
    );
    assert_eq!(mock.count("/api/repos/o/r"), 1);
    // The run stops there: a later request of the same run is not even sent.
    let again = rt.block_on(gh.repo_info(&repo("o/r"))).unwrap_err();
    assert!(matches!(again, ForgeError::RateLimited { .. }), "{again}");
    assert_eq!(mock.count("/api/repos/o/r"), 1);

    // A new run; 429 with Retry-After: waited, then answered.
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(
            429,
            vec![("Retry-After", "1".into())],
            String::new(),
        )],
    );
    let started = Instant::now();
    assert!(rt.block_on(gh.repo_info(&repo("o/r"))).is_ok());
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(mock.count("/api/repos/o/r"), 3);

    // Secondary limit without Retry-After: the configured wait, then success.
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(
            403,
            vec![],
            r#"{"message":"You have exceeded a secondary rate limit."}"#.into(),
        )],
    );
    assert!(rt.block_on(gh.repo_info(&repo("o/r"))).is_ok());
    assert_eq!(mock.count("/api/repos/o/r"), 5);

    // A 500, then a dropped connection, then success.
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(500, vec![], "oops".into()), Fault::Drop],
    );
    assert!(rt.block_on(gh.repo_info(&repo("o/r"))).is_ok());
    assert_eq!(mock.count("/api/repos/o/r"), 8);

    // Failing every attempt: a clear error after three.
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(502, vec![], String::new()); 3],
    );
    let err = rt.block_on(gh.repo_info(&repo("o/r"))).unwrap_err();
    assert!(
        err.to_string()
            .contains("answered 502 Bad Gateway on each of 3 attempts"),
        "{err}"
    );

    // With a token: sent to the API as a bearer token, and named in the rate-limit message.
    let authed = GitHub::new(settings(&mock, None, Some("ghp_secret"))).unwrap();
    rt.block_on(authed.repo_info(&repo("o/r"))).unwrap();
    let last = mock.requests().pop().unwrap();
    assert_eq!(
        last.headers.get("authorization").map(String::as_str),
        Some("Bearer ghp_secret")
    );
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(
            403,
            vec![("X-RateLimit-Remaining", "0".into())],
            String::new(),
        )],
    );
    let err = rt.block_on(authed.repo_info(&repo("o/r"))).unwrap_err();
    assert!(
        err.to_string().contains("for this token") && !err.to_string().contains("GITHUB_TOKEN"),
        "{err}"
    );
}

/// A HACS-like repository: `zip_release` with the asset's digest given by GitHub.
fn hacs_like(mock: &MockGitHub, with_digest: bool) -> Vec<u8> {
    let zip = craft::zip(&[
        (
            "manifest.json",
            0o644,
            br#"{"domain":"hacs","version":"2.0.5"}"#.as_slice(),
        ),
        ("hacs_frontend/", 0o755, b""),
        ("hacs_frontend/manifest.json", 0o644, br#"{"name":"HACS"}"#),
    ]);
    mock.add_repo(
        "hacs/integration",
        Repo {
            info: info(
                "HACS gives you a powerful UI to handle downloads of all your custom needs.",
                Some("MIT"),
            ),
            releases: vec![release(
                "2.0.5",
                false,
                false,
                &[("hacs.zip", &zip, with_digest)],
            )],
            commits: commits(&[("2.0.5", SHA_A)]),
            files: [(
                ("2.0.5".to_owned(), "hacs.json".to_owned()),
                br#"{"name":"HACS","zip_release":true,"filename":"hacs.zip"}"#.to_vec(),
            )]
            .into(),
        },
    );
    mock.add_download(
        "/hacs/integration/releases/download/2.0.5/hacs.zip",
        zip.clone(),
    );
    zip
}

fn request(name: &str, previous: Option<hacs_nix::fetch::Pin>) -> FetchRequest {
    FetchRequest {
        repo: repo(name),
        choice: Choice::Latest,
        source: SourcePreference::Auto,
        previous,
    }
}

#[test]
fn fetches_the_asset_hacs_installs_and_a_rerun_downloads_nothing() {
    let mock = MockGitHub::start();
    let zip = hacs_like(&mock, true);
    let cache = tempfile::tempdir().unwrap();
    let gh = GitHub::new(settings(&mock, Some(cache.path()), None)).unwrap();
    let rt = runtime();
    let fetched = rt
        .block_on(fetch::fetch(&gh, &request("hacs/integration", None), &()))
        .unwrap();
    assert_eq!(
        fetched.pin.url, "https://github.com/hacs/integration/releases/download/2.0.5/hacs.zip",
        "canonical, not the mirror"
    );
    assert_eq!(fetched.pin.fetcher, Fetcher::Fetchzip);
    assert!(fetched.digest_verified);
    let dl = "/dl/hacs/integration/releases/download/2.0.5/hacs.zip";
    assert_eq!(mock.count(dl), 1);
    assert!(
        !mock
            .requests()
            .iter()
            .filter(|r| r.path == dl)
            .any(|r| r.headers.contains_key("authorization"))
    );

    // The hash equals real Nix's fetchzip { stripRoot = false; } of the served bytes.
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("hacs.zip");
    std::fs::write(&path, &zip).unwrap();
    let hex = hacs_nix::hash::Sha256Digest::parse(&fetched.pin.hash)
        .unwrap()
        .to_hex();
    assert_eq!(hex, oracle::fetchzip_hash(&path, false));

    // Rerun with the pin: same answer, 304s only, no download.
    mock.clear_log();
    let again = rt
        .block_on(fetch::fetch(
            &gh,
            &request("hacs/integration", Some(fetched.pin.clone())),
            &(),
        ))
        .unwrap();
    assert!(again.unchanged());
    assert_eq!(again.pin, fetched.pin);
    assert_eq!(mock.count(dl), 0, "a no-op rerun downloads no archive");
    assert!(
        mock.requests()
            .iter()
            .all(|r| r.headers.contains_key("if-none-match"))
    );
}

#[test]
fn source_archive_of_the_tag() {
    let mock = MockGitHub::start();
    let archive = tar_gz(&[
        dir("spook-5.0.0/"),
        file(
            "spook-5.0.0/custom_components/spook/manifest.json",
            br#"{"domain":"spook"}"#,
        ),
    ]);
    mock.add_repo(
        "frenck/spook",
        Repo {
            info: info("Spook", Some("MIT")),
            releases: vec![release("v5.0.0", false, false, &[])],
            commits: commits(&[("v5.0.0", SHA_B)]),
            ..Repo::default()
        },
    );
    mock.add_download(
        "/frenck/spook/archive/refs/tags/v5.0.0.tar.gz",
        archive.clone(),
    );
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let fetched = runtime()
        .block_on(fetch::fetch(&gh, &request("frenck/spook", None), &()))
        .unwrap();
    assert_eq!(
        fetched.pin.url,
        "https://github.com/frenck/spook/archive/refs/tags/v5.0.0.tar.gz"
    );
    assert_eq!(
        (
            fetched.pin.fetcher,
            fetched.pin.commit.as_str(),
            fetched.pin.version.as_str()
        ),
        (Fetcher::FetchFromGitHub, SHA_B, "v5.0.0")
    );
    assert!(fetched.hacs_json.is_none() && !fetched.digest_verified);
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("v5.0.0.tar.gz");
    std::fs::write(&path, &archive).unwrap();
    let hash = hacs_nix::hash::Sha256Digest::parse(&fetched.pin.hash).unwrap();
    assert_eq!(
        oracle::nix_prefetch_url_unpack(&path),
        hash.to_nix32(),
        "nix-prefetch-url --unpack agrees"
    );
}

#[test]
fn downloads_are_verified_never_pinned_wrong() {
    let mock = MockGitHub::start();
    let zip = hacs_like(&mock, true);
    let dl = "/dl/hacs/integration/releases/download/2.0.5/hacs.zip";
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let rt = runtime();

    // Truncated once, stalled once: retried, then the right bytes.
    mock.fault(
        dl,
        vec![Fault::Truncate(100), Fault::Stall(Duration::from_secs(2))],
    );
    let ok = rt
        .block_on(fetch::fetch(&gh, &request("hacs/integration", None), &()))
        .unwrap();
    assert_eq!(mock.count(dl), 3);
    assert!(ok.digest_verified);

    // Truncated every time: an error, no pin.
    mock.fault(dl, vec![Fault::Truncate(10); 3]);
    let err = rt
        .block_on(fetch::fetch(&gh, &request("hacs/integration", None), &()))
        .unwrap_err();
    assert_eq!(err.rule_id(), "download-truncated", "{err}");
    assert!(
        err.to_string().contains(&format!("of {} bytes", zip.len())),
        "{err}"
    );

    // Bytes that do not match GitHub's digest: an error naming both hashes.
    let mut other = zip.clone();
    let last = other.len() - 30;
    other[last] ^= 1;
    mock.add_download("/hacs/integration/releases/download/2.0.5/hacs.zip", other);
    let err = rt
        .block_on(fetch::fetch(&gh, &request("hacs/integration", None), &()))
        .unwrap_err();
    assert_eq!(err.rule_id(), "download-digest-mismatch", "{err}");
    assert!(err.to_string().contains("nothing was pinned"));

    // Without a digest from GitHub the bytes are still hashed, and the asset's size checked.
    let mock = MockGitHub::start();
    hacs_like(&mock, false);
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let fetched = rt
        .block_on(fetch::fetch(&gh, &request("hacs/integration", None), &()))
        .unwrap();
    assert!(!fetched.digest_verified && fetched.pin.hash.starts_with("sha256-"));
}

#[test]
fn missing_asset_and_concurrency_order() {
    let mock = MockGitHub::start();
    mock.add_repo(
        "o/zipless",
        Repo {
            info: info("x", None),
            releases: vec![release("1.0", false, false, &[])],
            commits: commits(&[("1.0", SHA_A)]),
            files: [(
                ("1.0".to_owned(), "hacs.json".to_owned()),
                br#"{"name":"X","zip_release":true,"filename":"x.zip"}"#.to_vec(),
            )]
            .into(),
        },
    );
    hacs_like(&mock, true);
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let requests = vec![
        request("o/zipless", None),
        request("hacs/integration", None),
        request("o/absent", None),
    ];
    let progress = |_: &RepoId| ();
    let results = runtime().block_on(fetch::fetch_all(&gh, &requests, 8, progress));
    assert_eq!(results.len(), 3);
    let err = results[0].as_ref().unwrap_err();
    assert!(err.to_string().contains("has no asset `x.zip`"), "{err}");
    assert_eq!(results[1].as_ref().unwrap().pin.version, "2.0.5");
    assert_eq!(
        results[2].as_ref().unwrap_err().rule_id(),
        "github-not-found"
    );
    let _ = json!({});
}

/// Each way a request can fail has its own rule: no answer at all (DNS, refused connection) is
/// `github-unreachable`; a server error on every attempt is `github-server-error`; an answer
/// that asking again cannot change is `github-http`, sent once.
#[test]
fn every_failure_says_what_happened_and_final_answers_are_not_retried() {
    let mock = MockGitHub::start();
    paged_repo(&mock);
    let rt = runtime();
    let gh = GitHub::new(settings(&mock, None, None)).unwrap();
    let mut sent = mock.count("/api/repos/o/r");
    for (status, reason) in [
        (400, "Bad Request"),
        (401, "Unauthorized"),
        (403, "Forbidden"),
        (405, "Method Not Allowed"),
        (410, "Gone"),
        (422, "Unprocessable Entity"),
        (501, "Not Implemented"),
    ] {
        mock.fault(
            "/api/repos/o/r",
            vec![Fault::Status(status, vec![], format!(r#"{{"message":"told {status}"}}"#)); 3],
        );
        let err = rt.block_on(gh.repo_info(&repo("o/r"))).unwrap_err();
        sent += 1;
        assert_eq!(mock.count("/api/repos/o/r"), sent, "{status} is asked once");
        assert_eq!(err.rule_id(), "github-http", "{status}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("answered {status} {reason}: told {status}")),
            "{text}"
        );
        assert!(
            err.help().is_some_and(|h| !h.contains("network")),
            "{status}"
        );
        // The faults left in the queue were never asked for.
        mock.state.lock().unwrap().faults.remove("/api/repos/o/r");
    }
    // A 404 on REST is an answer too: not found, asked once.
    let err = rt.block_on(gh.repo_info(&repo("o/gone"))).unwrap_err();
    assert_eq!(err.rule_id(), "github-not-found", "{err}");
    assert_eq!(mock.count("/api/repos/o/gone"), 1);

    // 500 on every attempt: retried, then GitHub's own failure, with what it said.
    mock.fault(
        "/api/repos/o/r",
        vec![Fault::Status(500, vec![], r#"{"message":"boom"}"#.into()); 3],
    );
    let err = rt.block_on(gh.repo_info(&repo("o/r"))).unwrap_err();
    sent += 3;
    assert_eq!(mock.count("/api/repos/o/r"), sent);
    assert_eq!(err.rule_id(), "github-server-error", "{err}");
    assert!(
        err.to_string()
            .contains("answered 500 Internal Server Error on each of 3 attempts: boom"),
        "{err}"
    );

    // Nothing listening: no answer at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut refused = settings(&mock, None, None);
    refused.api = format!("http://127.0.0.1:{port}/api");
    let err = rt
        .block_on(GitHub::new(refused).unwrap().repo_info(&repo("o/r")))
        .unwrap_err();
    assert_eq!(err.rule_id(), "github-unreachable", "{err}");
    assert!(err.help().is_some_and(|h| h.contains("network")), "{err}");

    // A name that does not resolve (`.invalid` never does): no answer either.
    let mut dns = settings(&mock, None, None);
    dns.api = "http://hacs-nix-test.invalid/api".to_owned();
    let err = rt
        .block_on(GitHub::new(dns).unwrap().repo_info(&repo("o/r")))
        .unwrap_err();
    assert_eq!(err.rule_id(), "github-unreachable", "{err}");
    assert!(err.to_string().contains("hacs-nix-test.invalid"), "{err}");

    // Downloads follow the same rule: 501 once, 503 retried then a server error.
    let url = "https://github.com/o/r/file.zip";
    mock.add_download("/o/r/file.zip", b"bytes".to_vec());
    for (status, expect_rule, expect_count) in
        [(501, "github-http", 1), (503, "github-server-error", 3)]
    {
        mock.fault(
            "/dl/o/r/file.zip",
            vec![Fault::Status(status, vec![], String::new()); 3],
        );
        let before = mock.count("/dl/o/r/file.zip");
        let mut out = tempfile::tempfile().unwrap();
        let err = rt
            .block_on(gh.download(url, None, None, &mut out, &()))
            .unwrap_err();
        assert_eq!(err.rule_id(), expect_rule, "{status}: {err}");
        assert_eq!(
            mock.count("/dl/o/r/file.zip") - before,
            expect_count,
            "{status}"
        );
        mock.state.lock().unwrap().faults.remove("/dl/o/r/file.zip");
    }
}
