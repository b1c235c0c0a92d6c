//! Resolve and hash 50 components against the loopback GitHub with 100 ms of latency added to
//! every response: one component alone, then all 50 sequentially (the baseline), then with
//! bounded concurrency. Target: 50 components in under 3× the time of one.
//! Run: `cargo bench -p xtask --bench fetch_concurrency`. Results: docs/performance.md.
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
use hacs_nix::forge::{Choice, GitHub, RepoId, Settings};
use support::github::{MockGitHub, Repo, info, release};

const COMPONENTS: usize = 50;
const LATENCY: Duration = Duration::from_millis(100);

fn main() {
    let mock = MockGitHub::start();
    for i in 0..COMPONENTS {
        // A release-sized asset (a few hundred KiB of files) per component.
        let files: Vec<(String, Vec<u8>)> = (0..40)
            .map(|f| {
                (
                    format!("f{f}.py"),
                    support::trees::contents((i * 100 + f) as u64, 8_000),
                )
            })
            .collect();
        let mut entries: Vec<(&str, u32, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), 0o644, b.as_slice()))
            .collect();
        let manifest = format!(r#"{{"domain":"c{i}","version":"1.0.{i}"}}"#);
        entries.push(("manifest.json", 0o644, manifest.as_bytes()));
        let zip = support::craft::zip(&entries);
        let name = format!("bench/c{i}");
        mock.add_repo(
            &name,
            Repo {
                info: info("bench", Some("MIT")),
                releases: vec![release("1.0.0", false, false, &[("c.zip", &zip, true)])],
                commits: [("1.0.0".to_owned(), format!("{i:040}"))].into(),
                files: [(
                    ("1.0.0".to_owned(), "hacs.json".to_owned()),
                    br#"{"name":"C","zip_release":true,"filename":"c.zip"}"#.to_vec(),
                )]
                .into(),
            },
        );
        mock.add_download(&format!("/{name}/releases/download/1.0.0/c.zip"), zip);
    }
    mock.state.lock().unwrap().latency = LATENCY;
    let requests: Vec<FetchRequest> = (0..COMPONENTS)
        .map(|i| FetchRequest {
            repo: RepoId::parse(&format!("bench/c{i}")).unwrap(),
            choice: Choice::Latest,
            source: SourcePreference::Auto,
            previous: None,
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let progress = |_: &RepoId| ();
    let run = |requests: &[FetchRequest], jobs: usize| -> Duration {
        // No ETag cache: every run pays every request, as a first run does.
        let gh = GitHub::new(Settings {
            api: mock.api.clone(),
            download: mock.download.clone(),
            ..Settings::default()
        })
        .unwrap();
        let started = Instant::now();
        let results = runtime.block_on(fetch::fetch_all(&gh, requests, jobs, progress));
        let elapsed = started.elapsed();
        assert!(
            results.iter().all(Result::is_ok),
            "{:?}",
            results.iter().find(|r| r.is_err())
        );
        elapsed
    };
    let single: Duration = (0..5).map(|i| run(&requests[i..=i], 1)).min().unwrap();
    println!(
        "latency per response: {} ms; each component: releases ∥ repo, then commit ∥ hacs.json, then the download",
        LATENCY.as_millis()
    );
    println!("{:<38} {:>9} {:>12}", "case", "seconds", "× single");
    println!(
        "{:<38} {:>9.3} {:>12.2}",
        "1 component",
        single.as_secs_f64(),
        1.0
    );
    for jobs in [1, 8, 16, 32, 50] {
        let t = run(&requests, jobs);
        let label = if jobs == 1 {
            "50 components, sequential (baseline)".to_owned()
        } else {
            format!("50 components, --jobs {jobs}")
        };
        println!(
            "{label:<38} {:>9.3} {:>12.2}",
            t.as_secs_f64(),
            t.as_secs_f64() / single.as_secs_f64()
        );
    }
}
