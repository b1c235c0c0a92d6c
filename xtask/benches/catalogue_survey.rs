//! The catalogue-scale numbers of docs/performance.md, on the loopback GitHub:
//! 1. release discovery for 50 components with nothing new, 100 ms per response: REST (warm
//!    ETag cache) against GraphQL (a token): requests and wall time;
//! 2. survey throughput (repositories per second, requests per repository) with 100 ms per
//!    response, REST and GraphQL;
//! 3. a survey of 1,000 repositories: peak RSS and the most file descriptors open at once.
//!
//! Run: `cargo bench -p xtask --bench catalogue_survey` (needs `nix-instantiate` for the
//! fixture's Python set).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use hacs_nix::fetch::{self, FetchRequest, SourcePreference};
use hacs_nix::forge::{Choice, EtagCache, GitHub, RepoId};
use hacs_nix::pyset::{self, Nixpkgs};
use hacs_nix::survey::{self, SurveyOptions};
use support::craft::{dir, file, tar_gz};
use support::github::{MockGitHub, Repo, info, release, test_settings};

const LATENCY: Duration = Duration::from_millis(100);

/// `count` repositories, each a release whose source archive holds an integration of about
/// `size` bytes of Python.
fn world(mock: &MockGitHub, prefix: &str, count: usize, size: usize) -> Vec<RepoId> {
    (0..count)
        .map(|i| {
            let name = format!("{prefix}/c{i}");
            let domain = format!("c{i}");
            let manifest = support::pipeline::manifest(&domain, "1.0.0", &["aiohttp>=3"]);
            let archive = tar_gz(&[
                dir("top/"),
                file(
                    &format!("top/custom_components/{domain}/manifest.json"),
                    manifest.as_bytes(),
                ),
                file(
                    &format!("top/custom_components/{domain}/sensor.py"),
                    &support::trees::contents(i as u64, size),
                ),
            ]);
            let sha = format!("{i:040x}");
            mock.add_repo(
                &name,
                Repo {
                    info: info("bench", Some("MIT")),
                    releases: vec![release("v1.0.0", false, false, &[])],
                    commits: [("v1.0.0".to_owned(), sha.clone()), ("main".to_owned(), sha)].into(),
                    ..Repo::default()
                },
            );
            mock.add_download(&format!("/{name}/archive/refs/tags/v1.0.0.tar.gz"), archive);
            RepoId::parse(&name).unwrap()
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn main() {
    let set = pyset::evaluate(
        &Nixpkgs::parse(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/nixpkgs/ha-2026"
        ))
        .unwrap(),
    )
    .unwrap();
    let runtime = runtime();

    // 1. Discovery, nothing new: the pins of a first run are given as the previous pins.
    let mock = MockGitHub::start();
    let repos = world(&mock, "d", 50, 4_000);
    let cache = tempfile::tempdir().unwrap();
    let requests: Vec<FetchRequest> = repos
        .iter()
        .map(|r| FetchRequest {
            repo: r.clone(),
            choice: Choice::Latest,
            source: SourcePreference::Auto,
            previous: None,
        })
        .collect();
    let first = GitHub::new(test_settings(&mock, Some(cache.path()), None)).unwrap();
    let pinned = runtime.block_on(fetch::fetch_all(&first, &requests, 8, |_: &RepoId| ()));
    let again: Vec<FetchRequest> = requests
        .iter()
        .zip(pinned)
        .map(|(r, f)| FetchRequest {
            previous: Some(f.unwrap().pin),
            ..r.clone()
        })
        .collect();
    mock.state.lock().unwrap().latency = LATENCY;
    println!(
        "1. Discovery of 50 components, nothing new upstream, {} ms per response, --jobs 8",
        LATENCY.as_millis()
    );
    println!(
        "{:<34} {:>9} {:>9} {:>10}",
        "path", "requests", "seconds", "downloads"
    );
    for (label, token) in [
        ("REST, warm ETag cache", None),
        ("GraphQL (token)", Some("t")),
    ] {
        let gh = GitHub::new(test_settings(&mock, Some(cache.path()), token)).unwrap();
        mock.clear_log();
        let started = Instant::now();
        let results = runtime.block_on(fetch::fetch_all(&gh, &again, 8, |_: &RepoId| ()));
        let elapsed = started.elapsed();
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_ok_and(fetch::Fetched::unchanged))
        );
        let log = mock.requests();
        let downloads = log.iter().filter(|r| r.path.starts_with("/dl/")).count();
        println!(
            "{label:<34} {:>9} {:>9.2} {downloads:>10}",
            log.len(),
            elapsed.as_secs_f64()
        );
    }

    // 2. Survey throughput, first run (nothing cached), 100 ms per response.
    let count = 200;
    let mock = MockGitHub::start();
    let repos = world(&mock, "s", count, 20_000);
    mock.state.lock().unwrap().latency = LATENCY;
    println!(
        "\n2. Survey of {count} repositories, nothing cached, {} ms per response",
        LATENCY.as_millis()
    );
    println!(
        "{:<26} {:>6} {:>9} {:>12} {:>14}",
        "path", "jobs", "seconds", "repos/s", "requests/repo"
    );
    for (label, token) in [("REST", None), ("GraphQL (token)", Some("t"))] {
        for jobs in [8, 32] {
            let gh = GitHub::new(test_settings(&mock, None, token)).unwrap();
            mock.clear_log();
            let started = Instant::now();
            let options = SurveyOptions {
                jobs,
                ..SurveyOptions::default()
            };
            let (results, _) =
                runtime.block_on(survey::survey(&gh, &repos, &set, &options, |_| ()));
            let elapsed = started.elapsed().as_secs_f64();
            assert!(
                results.iter().all(|r| r.class == survey::Class::Builds),
                "{:?}",
                results.first()
            );
            let requests = mock.requests().len();
            println!(
                "{label:<26} {jobs:>6} {elapsed:>9.2} {:>12.1} {:>14.2}",
                count as f64 / elapsed,
                requests as f64 / count as f64
            );
        }
    }

    // 3. The real binary surveying the catalogue: peak RSS and open files of its process, for
    // 100 and for 1,000 repositories (bounded: the second is not ten times the first).
    println!(
        "\n3. `hacs-nix survey --jobs 16` on the loopback, about 60 KB of Python per repository, no latency"
    );
    println!(
        "{:<14} {:>9} {:>9} {:>14} {:>16}",
        "repositories", "seconds", "repos/s", "peak RSS MiB", "most open fds"
    );
    for count in [100, 1_000] {
        let mock = MockGitHub::start();
        let repos = world(&mock, "m", count, 60_000);
        let list: Vec<String> = repos.iter().map(ToString::to_string).collect();
        mock.add_page(
            "/hacs-default/integration",
            serde_json::to_vec(&list).unwrap(),
        );
        mock.add_page("/hacs-data/integration/data.json", b"{}".to_vec());
        mock.add_page("/hacs-default/blacklist", b"[]".to_vec());
        mock.add_page("/hacs-default/removed", b"[]".to_vec());
        let checkout = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(checkout.path().join("pkgs")).unwrap();
        std::fs::write(checkout.path().join("pkgs/python-set.json"), set.to_json()).unwrap();
        let started = Instant::now();
        // The report goes to a file: a pipe nobody reads while polling would fill and stall it.
        let report_path = checkout.path().join("survey.json");
        let mut child =
            support::pipeline::command(env!("CARGO_BIN_EXE_hacs-nix"), checkout.path(), &mock)
                .args(["survey", "--jobs", "16", "--format", "json", "--output"])
                .arg(&report_path)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
        let pid = child.id();
        let (mut peak_kb, mut fds) = (0u64, 0usize);
        // VmHWM only grows: the last reading before the process ends is its peak.
        loop {
            let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(kb) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                peak_kb = peak_kb.max(
                    kb.trim()
                        .trim_end_matches(" kB")
                        .trim()
                        .parse()
                        .unwrap_or(0),
                );
            }
            fds = fds.max(
                std::fs::read_dir(format!("/proc/{pid}/fd"))
                    .map(Iterator::count)
                    .unwrap_or(0),
            );
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success());
                break;
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        assert_eq!(report["results"].as_array().unwrap().len(), count);
        println!(
            "{count:<14} {elapsed:>9.2} {:>9.0} {:>14.1} {fds:>16}",
            count as f64 / elapsed,
            peak_kb as f64 / 1024.0
        );
    }
    let _ = EtagCache::new(cache.path());
}
