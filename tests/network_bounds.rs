//! A polite and bounded client, and no silently wrong pins: `Retry-After` on downloads, an
//! exhausted rate limit that stops the run, API answers capped and parsed before caching, and
//! the cases that used to pin something else than asked (no such asset, a malformed digest, an
//! asset whose name and content disagree, an offline run with nothing pinned).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hacs_nix::fetch::{self, FetchRequest, SourcePreference};
use hacs_nix::forge::{Choice, ForgeError, GitHub, RepoId, Settings};
use serde_json::json;
use support::craft::{self, dir, file, tar_gz};
use support::github::{Fault, MockGitHub, Repo, info, release};
use support::pipeline::{Case, command, shown};

fn settings(mock: &MockGitHub, cache: Option<&std::path::Path>) -> Settings {
    Settings {
        read_timeout: Duration::from_secs(5),
        ..support::github::test_settings(mock, cache, None)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn request(name: &str, source: SourcePreference) -> FetchRequest {
    FetchRequest {
        repo: RepoId::parse(name).unwrap(),
        choice: Choice::Latest,
        source,
        previous: None,
    }
}

fn zip_repo(mock: &MockGitHub, name: &str, asset: &str, bytes: &[u8], digest: Option<&str>) {
    let mut rel = release("1.0", false, false, &[(asset, bytes, true)]);
    if let Some(d) = digest {
        rel["assets"][0]["digest"] = json!(d);
    }
    mock.add_repo(
        name,
        Repo {
            info: info("x", None),
            releases: vec![rel],
            commits: [("1.0".to_owned(), "a".repeat(40))].into(),
            files: [(
                ("1.0".to_owned(), "hacs.json".to_owned()),
                format!(r#"{{"name":"X","zip_release":true,"filename":"{asset}"}}"#).into_bytes(),
            )]
            .into(),
        },
    );
    mock.add_download(
        &format!("/{name}/releases/download/1.0/{asset}"),
        bytes.to_vec(),
    );
}

fn small_zip() -> Vec<u8> {
    craft::zip(&[(
        "manifest.json",
        0o644,
        br#"{"domain":"x","version":"1.0"}"#.as_slice(),
    )])
}

#[test]
fn a_download_answered_429_waits_as_long_as_retry_after_says() {
    let mock = MockGitHub::start();
    zip_repo(&mock, "o/z", "z.zip", &small_zip(), None);
    let dl = "/dl/o/z/releases/download/1.0/z.zip";
    mock.fault(
        dl,
        vec![Fault::Status(
            429,
            vec![("Retry-After", "1".into())],
            String::new(),
        )],
    );
    let gh = GitHub::new(settings(&mock, None)).unwrap();
    let started = Instant::now();
    let fetched = runtime()
        .block_on(fetch::fetch(
            &gh,
            &request("o/z", SourcePreference::Auto),
            &(),
        ))
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}, not the 1 s asked for",
        started.elapsed()
    );
    assert_eq!(mock.count(dl), 2);
    assert!(fetched.pin.hash.starts_with("sha256-"));
}

#[test]
fn an_exhausted_rate_limit_stops_every_later_request() {
    let mock = MockGitHub::start();
    zip_repo(&mock, "o/a", "a.zip", &small_zip(), None);
    zip_repo(&mock, "o/b", "b.zip", &small_zip(), None);
    mock.fault(
        "/api/repos/o/a",
        vec![Fault::Status(
            403,
            vec![
                ("X-RateLimit-Remaining", "0".into()),
                ("X-RateLimit-Reset", "4102444800".into()),
            ],
            r#"{"message":"API rate limit exceeded"}"#.into(),
        )],
    );
    let gh = GitHub::new(settings(&mock, None)).unwrap();
    let requests = vec![
        request("o/a", SourcePreference::Auto),
        request("o/b", SourcePreference::Auto),
    ];
    let results = runtime().block_on(fetch::fetch_all(&gh, &requests, 1, |_: &RepoId| ()));
    for result in &results {
        assert_eq!(
            result.as_ref().unwrap_err().rule_id(),
            "github-rate-limit",
            "{result:?}"
        );
    }
    let to_b = mock
        .requests()
        .iter()
        .filter(|r| r.path.contains("/o/b"))
        .count();
    assert_eq!(to_b, 0, "no request is sent once the limit is exhausted");
}

#[test]
fn api_answers_are_capped_and_parsed_before_caching() {
    let mock = MockGitHub::start();
    zip_repo(&mock, "o/big", "b.zip", &small_zip(), None);
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(50 << 20));
    mock.fault("/api/repos/o/big", vec![Fault::Status(200, vec![], big)]);
    let gh = GitHub::new(settings(&mock, None)).unwrap();
    let rt = runtime();
    let err = rt
        .block_on(gh.repo_info(&RepoId::parse("o/big").unwrap()))
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::BadResponse { .. }) && err.to_string().contains("10 MiB"),
        "{err}"
    );

    // A 200 that is not JSON is an error, and its ETag is not remembered.
    let cache = tempfile::tempdir().unwrap();
    mock.fault(
        "/api/repos/o/big",
        vec![Fault::Status(
            200,
            vec![("ETag", "\"bad\"".into())],
            "<html>maintenance</html>".into(),
        )],
    );
    let gh = GitHub::new(settings(&mock, Some(cache.path()))).unwrap();
    let err = rt
        .block_on(gh.repo_info(&RepoId::parse("o/big").unwrap()))
        .unwrap_err();
    assert_eq!(err.rule_id(), "github-bad-response", "{err}");
    mock.clear_log();
    rt.block_on(gh.repo_info(&RepoId::parse("o/big").unwrap()))
        .unwrap();
    let sent = mock.requests();
    assert!(
        sent.iter()
            .all(|r| r.headers.get("if-none-match").map(String::as_str) != Some("\"bad\"")),
        "the bad answer was cached"
    );
}

/// The binary's peak memory on a 50 MB API answer (the Python oracle reads the child's
/// `ru_maxrss`).
#[test]
fn a_50_mb_answer_is_refused_with_bounded_memory() {
    let mut case = Case::new();
    case.source_release(
        "o/big",
        "1.0",
        "Big",
        tar_gz(&[dir("b/"), file("b/x", b"")]),
    );
    case.want("[big]\nrepo = \"o/big\"\n");
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(50 << 20));
    case.mock
        .fault("/api/repos/o/big", vec![Fault::Status(200, vec![], big)]);
    let out = command(
        &support::builder::oracle_python(),
        case.dir.path(),
        &case.mock,
    )
    .args([
        "-c",
        "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True); \
         print(p.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); \
         sys.stderr.write(p.stdout.decode() + p.stderr.decode())",
        env!("CARGO_BIN_EXE_hacs-nix"),
        "update-components",
    ])
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut lines = stdout.lines();
    let code: i32 = lines.next().unwrap().parse().unwrap();
    let peak_kib: u64 = lines.next().unwrap().parse().unwrap();
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("10 MiB"), "{stderr}");
    eprintln!("peak memory of the refusing run: {} MiB", peak_kib >> 10);
    assert!(
        peak_kib < 64 << 10,
        "peak {} MiB for a refused 50 MB answer",
        peak_kib >> 10
    );
}

#[test]
fn nothing_is_pinned_but_what_was_asked_for() {
    let mock = MockGitHub::start();
    let rt = runtime();
    // `source = "release-asset"` and a release without a zip asset: an error naming what is there.
    mock.add_repo(
        "o/noasset",
        Repo {
            info: info("x", None),
            releases: vec![release("1.0", false, false, &[("notes.txt", b"hi", true)])],
            commits: [("1.0".to_owned(), "a".repeat(40))].into(),
            files: HashMap::new(),
        },
    );
    let gh = GitHub::new(settings(&mock, None)).unwrap();
    let err = rt
        .block_on(fetch::fetch(
            &gh,
            &request("o/noasset", SourcePreference::ReleaseAsset),
            &(),
        ))
        .unwrap_err();
    assert_eq!(err.rule_id(), "release-asset-missing", "{err}");
    assert!(err.to_string().contains("`notes.txt`"), "{err}");

    // A digest GitHub gives but that is not sha256:<hex>: an error, not a skipped check.
    zip_repo(
        &mock,
        "o/digest",
        "d.zip",
        &small_zip(),
        Some("sha256:nothex"),
    );
    let err = rt
        .block_on(fetch::fetch(
            &gh,
            &request("o/digest", SourcePreference::Auto),
            &(),
        ))
        .unwrap_err();
    assert_eq!(err.rule_id(), "download-digest-invalid", "{err}");

    // A `.zip` asset that is really a tarball: stdenv would run unzip on it.
    let tarball = tar_gz(&[file("manifest.json", br#"{"domain":"x","version":"1.0"}"#)]);
    zip_repo(&mock, "o/liar", "l.zip", &tarball, None);
    let err = rt
        .block_on(fetch::fetch(
            &gh,
            &request("o/liar", SourcePreference::Auto),
            &(),
        ))
        .unwrap_err();
    assert_eq!(err.rule_id(), "download-name-content", "{err}");
}

#[test]
fn offline_with_nothing_pinned_fails() {
    let case = Case::new();
    case.want("[never]\nrepo = \"o/never\"\n");
    let out = case.run(&["update-components", "--offline"]);
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("offline-unpinned") && text.contains("online"),
        "{text}"
    );
}

/// The caches stay bounded: entries unused for 30 days go, then the least recently used beyond
/// the size cap. File times stand in for the clock.
#[test]
fn caches_are_pruned_by_age_and_size() {
    use std::time::SystemTime;
    let dir = tempfile::tempdir().unwrap();
    let now = SystemTime::now();
    let day = Duration::from_secs(24 * 3600);
    let write = |name: &str, age_days: u32| {
        let path = dir.path().join(name);
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(now - day * age_days).unwrap();
    };
    write("old.json", 31);
    write("recent.json", 1);
    write("older.json", 20);
    write("newest.json", 0);
    let pruned = hacs_nix::forge::prune(dir.path(), now, hacs_nix::forge::MAX_AGE, 250);
    let left: Vec<String> = {
        let mut v: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(left, ["newest.json", "recent.json"], "{pruned:?}");
    assert_eq!(
        (pruned.removed, pruned.kept, pruned.kept_bytes),
        (2, 2, 200)
    );

    // Through the client: a GitHub made with a cache prunes it.
    write("ancient.json", 400);
    let mock = MockGitHub::start();
    let _gh = GitHub::new(settings(&mock, Some(dir.path()))).unwrap();
    assert!(!dir.path().join("ancient.json").exists());
    assert!(dir.path().join("newest.json").exists());
}

fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(Iterator::count)
        .unwrap_or(0)
}

#[test]
fn components_stream_through_their_workers_with_bounded_open_files() {
    let mock = MockGitHub::start();
    let count = 300;
    for i in 0..count {
        let data = support::trees::contents(i as u64, 20_000);
        let bytes = craft::zip(&[
            (
                "manifest.json",
                0o644,
                br#"{"domain":"x","version":"1.0"}"#.as_slice(),
            ),
            ("big.py", 0o644, data.as_slice()),
        ]);
        zip_repo(&mock, &format!("o/z{i}"), "z.zip", &bytes, None);
    }
    // The first component is slow to download: it must hold back no one but itself.
    mock.fault(
        "/dl/o/z0/releases/download/1.0/z.zip",
        vec![Fault::Delay(Duration::from_millis(1500))],
    );
    let gh = GitHub::new(settings(&mock, None)).unwrap();
    let requests: Vec<FetchRequest> = (0..count)
        .map(|i| request(&format!("o/z{i}"), SourcePreference::Auto))
        .collect();
    let baseline = open_files();
    let most = std::sync::atomic::AtomicUsize::new(0);
    let progress = |_: &RepoId| ();
    let finish = |index: usize, fetched: Result<fetch::Fetched, fetch::FetchError>| {
        // The tree is alive here (a zip's tree reads from its open archive file).
        assert!(fetched.unwrap().tree.is_some());
        most.fetch_max(open_files(), std::sync::atomic::Ordering::Relaxed);
        index
    };
    let order: Vec<(usize, usize)> = runtime().block_on(futures_util::StreamExt::collect(
        fetch::fetch_each(&gh, &requests, 4, &progress, &finish),
    ));
    let order: Vec<usize> = order.into_iter().map(|(i, _)| i).collect();
    assert_eq!(order.len(), count);
    assert_eq!(order.last(), Some(&0), "results arrive as they complete");
    // Other tests of this binary run in parallel and open sockets too: the bounds leave room.
    let most = most.into_inner().saturating_sub(baseline);
    assert!(most < 80, "{most} files open at once with 4 workers");

    // Kept until all are done (the way it was), every zip would hold its file open.
    let kept = runtime().block_on(fetch::fetch_all(&gh, &requests[1..], 4, |_: &RepoId| ()));
    let held = open_files().saturating_sub(baseline);
    assert!(held >= 250, "{held} open");
    drop(kept);
    assert!(open_files().saturating_sub(baseline) < 80);
}
