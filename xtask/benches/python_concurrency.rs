//! Packaging N missing requirements (each one index page and one download) one after another
//! (`Limits::jobs = 1`) and concurrently (`jobs = 8`, the default), on a loopback index that
//! holds back every answer by 100 ms, as a far index does. Each of the N requirements needs one
//! more package, so the walk has two levels. The packages are the same either way (checked).
//! Run: `cargo bench -p xtask --bench python_concurrency`. Results: docs/performance.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use hacs_nix::pypi::{self, resolve};
use support::index::{Sdist, Served, serve_index_with_latency};

const N: usize = 8;
const RUNS: usize = 3;

fn main() {
    let names: Vec<String> = (0..N).map(|i| format!("lib-{i}")).collect();
    let leaves: Vec<String> = (0..N).map(|i| format!("leaf-{i}")).collect();
    let leak = |s: &String| -> &'static str { Box::leak(s.clone().into_boxed_str()) };
    let mut projects: Vec<(&str, Vec<Served>)> = Vec::new();
    for (name, leaf) in names.iter().zip(&leaves) {
        for (project, requires) in [(leak(name), vec![leak(leaf)]), (leak(leaf), vec![])] {
            let sdist = Sdist {
                name: project,
                version: "1.0",
                requires,
                packages: vec![Box::leak(project.replace('-', "_").into_boxed_str())],
                summary: "A library",
                ..Sdist::default()
            };
            projects.push((project, vec![Served::new(sdist.filename(), sdist.build())]));
        }
    }
    let index = serve_index_with_latency(&projects, Duration::from_millis(100));
    let set = support::index::fixture_set();
    let requirements: Vec<&str> = names.iter().map(String::as_str).collect();
    let wanted = support::index::wanted(&requirements, "bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = pypi::client().unwrap();
    let mut results = Vec::new();
    for jobs in [1, 8] {
        let mut times = Vec::new();
        let mut attrs = Vec::new();
        for _ in 0..RUNS {
            let context = resolve::Context {
                limits: resolve::Limits {
                    jobs,
                    ..resolve::Limits::default()
                },
                ..resolve::Context::default()
            };
            let start = Instant::now();
            let packaged = rt.block_on(resolve::package_missing(
                &client, &index.url, &set, &wanted, context,
            ));
            times.push(start.elapsed());
            assert!(packaged.refused.is_empty(), "{:?}", packaged.refused);
            attrs = packaged.packages.into_iter().collect::<Vec<_>>();
        }
        times.sort();
        results.push((jobs, times[RUNS / 2], attrs));
    }
    assert_eq!(results[0].2, results[1].2, "the same packages either way");
    println!(
        "{} packages ({N} requirements, each needing one more), 100 ms per answer, median of {RUNS}:",
        results[0].2.len()
    );
    for (jobs, median, _) in &results {
        println!("  jobs = {jobs}: {:.2} s", median.as_secs_f64());
    }
}
