//! `update-components` for one component with five requirements Home Assistant's set lacks,
//! against the loopback GitHub and a loopback Python index (the real binary, a release build):
//! the first run (five index pages, five downloads, metadata read, five packages written), the
//! rerun with nothing new (five pages, no download), and the same component with every
//! requirement in the set (the baseline without the index).
//! Run: `cargo bench -p xtask --bench python_packaging`. Results: docs/performance.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

#[path = "../../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::index::{Sdist, Served, serve_index};
use support::pipeline::{Case, command, source_component};

const RUNS: usize = 9;
const NAMES: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn fresh(case: &Case, wanted: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pkgs")).unwrap();
    std::fs::copy(
        case.pkgs().join("python-set.json"),
        dir.path().join("pkgs/python-set.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("pkgs/components.toml"), wanted).unwrap();
    dir
}

fn run(case: &Case, dir: &Path, index: &str) -> Duration {
    let start = Instant::now();
    let out = command(env!("CARGO_BIN_EXE_hacs-nix"), dir, &case.mock)
        .env("HACS_NIX_PYTHON_INDEX", index)
        .arg("update-components")
        .output()
        .unwrap();
    let took = start.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    let projects: Vec<(&str, Vec<Served>)> = NAMES
        .iter()
        .map(|name| {
            let sdist = Sdist {
                name,
                version: "1.0",
                requires: vec!["aiohttp>=3"],
                pyproject: Some("[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n"),
                packages: vec![name],
                summary: "A client library",
                ..Sdist::default()
            };
            (*name, vec![Served::new(sdist.filename(), sdist.build())])
        })
        .collect();
    let index = serve_index(&projects);
    let mut case = Case::new();
    case.source_release("o/five", "1.0.0", "x", source_component("five", &NAMES));
    case.source_release(
        "o/none",
        "1.0.0",
        "x",
        source_component("none", &["aiohttp>=3"]),
    );
    let five = "[five]\nrepo = \"o/five\"\n";
    let none = "[none]\nrepo = \"o/none\"\n";

    let mut first = Vec::new();
    let mut baseline = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let dir = fresh(&case, five);
        first.push(run(&case, dir.path(), &index.url));
        let plain = fresh(&case, none);
        baseline.push(run(&case, plain.path(), &index.url));
        last = Some(dir);
    }
    let dir = last.unwrap();
    let downloads = index.file_requests();
    let rerun: Vec<Duration> = (0..RUNS)
        .map(|_| run(&case, dir.path(), &index.url))
        .collect();
    assert_eq!(
        index.file_requests(),
        downloads,
        "a rerun downloads nothing"
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("pkgs/python"))
            .unwrap()
            .count(),
        5
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("median of {RUNS} runs, ms");
    println!("first run, 5 packages:          {:8.1}", ms(median(first)));
    println!("rerun, nothing new:             {:8.1}", ms(median(rerun)));
    println!(
        "baseline, nothing missing:      {:8.1}",
        ms(median(baseline))
    );
    println!("files downloaded per first run: {}", downloads / RUNS);
}
