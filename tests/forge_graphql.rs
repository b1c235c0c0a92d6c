//! Release discovery through GraphQL against the loopback GitHub: 50 repositories a request,
//! release pages followed, one unknown repository failing alone, a rate limit stopping the
//! run; and the pins are the same as over REST.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::HashMap;

use hacs_nix::fetch::{self, FetchRequest, SourcePreference};
use hacs_nix::forge::{Choice, GitHub, RepoId};
use support::craft::{dir, file, tar_gz, zip};
use support::github::{Fault, MockGitHub, Repo, info, release, test_settings};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sha(i: usize, salt: u8) -> String {
    format!("{salt:02x}{i:038x}")
}

fn source(name: &str) -> Vec<u8> {
    tar_gz(&[
        dir("top/"),
        file(
            "top/custom_components/x/manifest.json",
            format!(r#"{{"domain":"x","name":"{name}"}}"#).as_bytes(),
        ),
    ])
}

/// `count` repositories in every shape discovery must handle; returns the requests to fetch.
fn world(mock: &MockGitHub, count: usize) -> Vec<FetchRequest> {
    let mut requests = Vec::new();
    for i in 0..count {
        let name = format!("o/r{i}");
        let shape = i % 6;
        let mut repo = Repo {
            info: info(&format!("Repository {i}"), (i % 2 == 0).then_some("MIT")),
            ..Repo::default()
        };
        repo.commits.insert("main".to_owned(), sha(i, 0xcc));
        let mut choice = Choice::Latest;
        match shape {
            // A stable release under a draft and a pre-release.
            0 => {
                repo.releases = vec![
                    release("3.0.0", true, false, &[]),
                    release("2.1.0b1", false, true, &[]),
                    release("2.0.0", false, false, &[]),
                ];
                for (t, s) in [("2.1.0b1", 0xb1), ("2.0.0", 0x20)] {
                    repo.commits.insert(t.to_owned(), sha(i, s));
                }
                mock.add_download(
                    &format!("/{name}/archive/refs/tags/2.0.0.tar.gz"),
                    source(&name),
                );
            }
            // No release at all: the default branch.
            1 => {
                mock.add_download(
                    &format!("/{name}/archive/{}.tar.gz", sha(i, 0xcc)),
                    source(&name),
                );
            }
            // A zip release named by hacs.json at the tag, with GitHub's digest.
            2 => {
                let bytes = zip(&[(
                    "x/manifest.json",
                    0o644,
                    format!(r#"{{"domain":"x","name":"{name}"}}"#).as_bytes(),
                )]);
                repo.releases = vec![release(
                    "v1.2.0",
                    false,
                    false,
                    &[("x.zip", &bytes, true), ("other.zip", b"nope", true)],
                )];
                repo.commits.insert("v1.2.0".to_owned(), sha(i, 0x12));
                repo.files.insert(
                    ("v1.2.0".to_owned(), "hacs.json".to_owned()),
                    br#"{"name":"x","zip_release":true,"filename":"x.zip"}"#.to_vec(),
                );
                mock.add_download(&format!("/{name}/releases/download/v1.2.0/x.zip"), bytes);
            }
            // A pinned tag that has a release.
            3 => {
                repo.releases = vec![
                    release("v2.0.0", false, false, &[]),
                    release("v1.0.0", false, false, &[]),
                ];
                repo.commits.insert("v2.0.0".to_owned(), sha(i, 0x20));
                repo.commits.insert("v1.0.0".to_owned(), sha(i, 0x10));
                repo.files.insert(
                    ("v1.0.0".to_owned(), "hacs.json".to_owned()),
                    br#"{"name":"pinned"}"#.to_vec(),
                );
                choice = Choice::Tag("v1.0.0".to_owned());
                mock.add_download(
                    &format!("/{name}/archive/refs/tags/v1.0.0.tar.gz"),
                    source(&name),
                );
            }
            // A pinned tag without a release.
            4 => {
                repo.commits.insert("0.1.0".to_owned(), sha(i, 0x01));
                choice = Choice::Tag("0.1.0".to_owned());
                mock.add_download(
                    &format!("/{name}/archive/refs/tags/0.1.0.tar.gz"),
                    source(&name),
                );
            }
            // Pre-releases followed.
            _ => {
                repo.releases = vec![
                    release("5.0.0b2", false, true, &[]),
                    release("4.0.0", false, false, &[]),
                ];
                repo.commits.insert("5.0.0b2".to_owned(), sha(i, 0x52));
                repo.commits.insert("4.0.0".to_owned(), sha(i, 0x40));
                choice = Choice::LatestIncludingPrereleases;
                mock.add_download(
                    &format!("/{name}/archive/refs/tags/5.0.0b2.tar.gz"),
                    source(&name),
                );
            }
        }
        mock.add_repo(&name, repo);
        requests.push(FetchRequest {
            repo: RepoId::parse(&name).unwrap(),
            choice,
            source: SourcePreference::Auto,
            previous: None,
        });
    }
    requests
}

/// What a pin consists of, for comparing the two paths.
fn pins(github: &GitHub, requests: &[FetchRequest]) -> Vec<Result<String, String>> {
    let results = runtime().block_on(fetch::fetch_all(github, requests, 4, |_: &RepoId| ()));
    results
        .into_iter()
        .map(|r| {
            r.map(|f| {
                format!(
                    "{} {} {} {:?} {} digest={} info={:?} hacs={:?}",
                    f.repo,
                    f.chosen.version,
                    f.chosen.commit,
                    f.pin.fetcher,
                    f.pin.hash,
                    f.digest_verified,
                    f.info,
                    f.hacs_json.map(String::from_utf8)
                )
            })
            .map_err(|e| format!("{}: {e}", e.rule_id()))
        })
        .collect()
}

fn graphql_requests(mock: &MockGitHub) -> Vec<String> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path == "/api/graphql")
        .map(|r| r.body)
        .collect()
}

#[test]
fn graphql_batches_fifty_a_request_and_pins_what_rest_pins() {
    let mock = MockGitHub::start();
    let requests = world(&mock, 120);
    let rest = GitHub::new(test_settings(&mock, None, None)).unwrap();
    assert!(!rest.uses_graphql(), "no token: REST");
    let over_rest = pins(&rest, &requests);
    let rest_api = mock
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count();
    assert!(over_rest.iter().all(Result::is_ok), "{over_rest:#?}");
    mock.clear_log();

    let gql = GitHub::new(test_settings(&mock, None, Some("t0ken"))).unwrap();
    assert!(gql.uses_graphql());
    let over_graphql = pins(&gql, &requests);
    assert_eq!(over_graphql, over_rest);

    // 120 repositories: three batches (50, 50, 20), two requests each (releases, hacs.json).
    let bodies = graphql_requests(&mock);
    assert_eq!(bodies.len(), 6, "{bodies:#?}");
    let aliases = |b: &str| b.matches(": repository(").count();
    let mut sizes: Vec<usize> = bodies.iter().map(|b| aliases(b)).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [20, 20, 50, 50, 50, 50]);
    // Upstream text travels as variables, never in the query.
    for body in &bodies {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let query = v["query"].as_str().unwrap();
        assert!(
            !query.contains("\"o\"") && !query.contains("v1.0.0") && !query.contains("hacs.json"),
            "{query}"
        );
    }
    // REST only for the zip assets' digests (20 of them), nothing else.
    let other: Vec<String> = mock
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.starts_with("/api/") && p != "/api/graphql")
        .collect();
    assert_eq!(other.len(), 20, "{other:#?}");
    assert!(
        other.iter().all(|p| p.ends_with("/releases/tags/v1.2.0")),
        "{other:#?}"
    );
    assert!(rest_api > 6 * 50, "REST needed {rest_api} API requests");
    assert_eq!(gql.graphql_points(), 6);
}

#[test]
fn release_pages_are_followed_until_the_choice_is_found() {
    let mock = MockGitHub::start();
    mock.state.lock().unwrap().page_size = 2;
    let mut repo = Repo {
        info: info("Paged", None),
        ..Repo::default()
    };
    repo.releases = (0..7)
        .map(|i| release(&format!("9.{i}.0b1"), false, true, &[]))
        .collect();
    repo.releases.push(release("1.0.0", false, false, &[]));
    repo.commits = (0..7)
        .map(|i| (format!("9.{i}.0b1"), sha(i, 0x90)))
        .collect::<HashMap<_, _>>();
    repo.commits.insert("1.0.0".to_owned(), sha(0, 0x10));
    repo.commits.insert("main".to_owned(), sha(0, 0xcc));
    mock.add_repo("o/paged", repo);
    mock.add_download("/o/paged/archive/refs/tags/1.0.0.tar.gz", source("paged"));
    let requests = vec![FetchRequest {
        repo: RepoId::parse("o/paged").unwrap(),
        choice: Choice::Latest,
        source: SourcePreference::Auto,
        previous: None,
    }];
    let over_rest = pins(
        &GitHub::new(test_settings(&mock, None, None)).unwrap(),
        &requests,
    );
    mock.clear_log();
    let over_graphql = pins(
        &GitHub::new(test_settings(&mock, None, Some("t"))).unwrap(),
        &requests,
    );
    assert_eq!(over_graphql, over_rest);
    assert!(
        over_graphql[0].as_ref().unwrap().contains(" 1.0.0 "),
        "{over_graphql:?}"
    );
    // Four pages of two (the stable release is the eighth), then hacs.json.
    let bodies = graphql_requests(&mock);
    assert_eq!(bodies.len(), 5, "{bodies:#?}");
    let cursors: Vec<serde_json::Value> = bodies
        .iter()
        .take(4)
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["variables"]["c0"].clone())
        .collect();
    assert_eq!(
        cursors,
        [serde_json::Value::Null, "2".into(), "4".into(), "6".into()]
    );
}

#[test]
fn an_unknown_repository_fails_alone_and_a_rate_limit_stops_the_run() {
    let mock = MockGitHub::start();
    let mut requests = world(&mock, 6);
    requests.insert(
        3,
        FetchRequest {
            repo: RepoId::parse("o/gone").unwrap(),
            choice: Choice::Latest,
            source: SourcePreference::Auto,
            previous: None,
        },
    );
    let gql = GitHub::new(test_settings(&mock, None, Some("t"))).unwrap();
    let results = pins(&gql, &requests);
    for (i, r) in results.iter().enumerate() {
        if i == 3 {
            let e = r.as_ref().unwrap_err();
            assert!(
                e.starts_with("github-not-found") && e.contains("o/gone"),
                "{e}"
            );
        } else {
            assert!(r.is_ok(), "{r:?}");
        }
    }

    // GitHub's GraphQL answers a rate limit with 200 and an error: every repository of the
    // batch says so, and no further request is sent.
    let mock = MockGitHub::start();
    let requests = world(&mock, 60);
    mock.fault("/api/graphql", vec![Fault::Status(200, vec![("Content-Type", "application/json".to_owned())],
        r#"{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}"#.to_owned())]);
    let gql = GitHub::new(test_settings(&mock, None, Some("t"))).unwrap();
    let results = pins(&gql, &requests);
    assert!(
        results.iter().all(|r| r
            .as_ref()
            .is_err_and(|e| e.starts_with("github-rate-limit"))),
        "{results:#?}"
    );
    assert_eq!(
        graphql_requests(&mock).len(),
        1,
        "the second batch is not sent"
    );
    assert_eq!(mock.requests().len(), 1);

    // A 403 with the limit exhausted is the same.
    let mock = MockGitHub::start();
    let requests = world(&mock, 3);
    mock.fault(
        "/api/graphql",
        vec![Fault::Status(
            403,
            vec![
                ("x-ratelimit-remaining", "0".to_owned()),
                ("x-ratelimit-reset", "4000000000".to_owned()),
            ],
            "{}".to_owned(),
        )],
    );
    let results = pins(
        &GitHub::new(test_settings(&mock, None, Some("t"))).unwrap(),
        &requests,
    );
    assert!(
        results.iter().all(|r| r
            .as_ref()
            .is_err_and(|e| e.starts_with("github-rate-limit") && e.contains("resets at"))),
        "{results:#?}"
    );
}

/// A GitHub that serves REST but has no GraphQL (Enterprise with GraphQL off, a REST-only
/// mirror, a proxy): whatever the endpoint answers, the run pins over REST what REST pins,
/// asks the endpoint once, and leaves one note saying why.
#[test]
fn a_missing_graphql_endpoint_means_rest_for_the_rest_of_the_run() {
    let html = "<!DOCTYPE html><html><body>Sign in</body></html>".to_owned();
    let answers: [(&str, Fault); 5] = [
        (
            "501 Not Implemented",
            Fault::Status(501, vec![], "Not Implemented".to_owned()),
        ),
        (
            "404 Not Found",
            Fault::Status(404, vec![], r#"{"message":"Not Found"}"#.to_owned()),
        ),
        (
            "405 Method Not Allowed",
            Fault::Status(405, vec![], String::new()),
        ),
        (
            "not JSON",
            Fault::Status(200, vec![("Content-Type", "text/html".to_owned())], html),
        ),
        (
            "not GraphQL",
            Fault::Status(200, vec![], r#"{"message":"hello"}"#.to_owned()),
        ),
    ];
    for (why, fault) in answers {
        let mock = MockGitHub::start();
        // Two batches: the second must not ask the endpoint again.
        let requests = world(&mock, 60);
        let over_rest = pins(
            &GitHub::new(test_settings(&mock, None, None)).unwrap(),
            &requests,
        );
        assert!(over_rest.iter().all(Result::is_ok), "{over_rest:#?}");
        mock.clear_log();
        // The fault would answer every request to the endpoint, however often it is asked.
        mock.fault("/api/graphql", vec![fault; 10]);
        let gql = GitHub::new(test_settings(&mock, None, Some("t0ken"))).unwrap();
        assert!(gql.uses_graphql());
        assert_eq!(gql.graphql_note(), None);
        let over = pins(&gql, &requests);
        assert_eq!(over, over_rest, "{why}");
        assert_eq!(
            graphql_requests(&mock).len(),
            1,
            "{why}: asked once, never retried"
        );
        assert!(!gql.uses_graphql(), "{why}: off for the rest of the run");
        let note = gql.graphql_note().expect("a note");
        assert!(
            note.contains(why) && note.contains("over REST") && note.contains("HACS_NIX_GRAPHQL=0"),
            "{why}: {note}"
        );
    }

    // A GraphQL error that is GitHub's (a 502 on every attempt) is no reason to drop GraphQL:
    // it fails the batch with what GitHub answered, and is retried like any server error.
    let mock = MockGitHub::start();
    let requests = world(&mock, 2);
    mock.fault(
        "/api/graphql",
        vec![Fault::Status(502, vec![], String::new()); 3],
    );
    let gql = GitHub::new(test_settings(&mock, None, Some("t"))).unwrap();
    let results = pins(&gql, &requests);
    assert!(
        results.iter().all(|r| r
            .as_ref()
            .is_err_and(|e| e.starts_with("github-server-error") && e.contains("502 Bad Gateway"))),
        "{results:#?}"
    );
    assert_eq!(graphql_requests(&mock).len(), 3);
    assert_eq!(gql.graphql_note(), None);
}
