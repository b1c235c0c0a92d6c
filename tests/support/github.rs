//! A loopback GitHub: a real HTTP/1.1 server on 127.0.0.1 following GitHub's REST shapes
//! (`/repos/{o}/{r}`, `/releases` with `Link` pagination, `/commits/{ref}`, `/contents/{path}`,
//! ETags and `304`), serving downloads under `/dl` like github.com, with faults queued per path:
//! a status with headers, a truncated or stalled body, a dropped connection; and latency.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status, headers and body instead.
    Status(u16, Vec<(&'static str, String)>, String),
    /// Send the headers (full length) and only this many body bytes, then close.
    Truncate(usize),
    /// Send the headers and part of the body, then nothing for this long.
    Stall(Duration),
    /// Close the connection without answering.
    Drop,
    /// Answer normally, this much later.
    Delay(Duration),
}

#[derive(Clone, Debug, Default)]
pub struct Repo {
    pub info: Value,
    /// Newest first, as GitHub lists them.
    pub releases: Vec<Value>,
    /// ref (tag, branch, sha) → commit sha.
    pub commits: HashMap<String, String>,
    /// (ref, path) → contents.
    pub files: HashMap<(String, String), Vec<u8>>,
}

#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub headers: HashMap<String, String>,
    /// A POST's body (GraphQL).
    pub body: String,
}

#[derive(Default)]
pub struct State {
    pub repos: HashMap<String, Repo>,
    /// Path under `/dl` (`/owner/repo/archive/…`) → bytes.
    pub downloads: HashMap<String, Vec<u8>>,
    pub faults: HashMap<String, VecDeque<Fault>>,
    pub latency: Duration,
    /// Releases per page at most (small, to exercise pagination).
    pub page_size: usize,
    pub log: Vec<Request>,
    /// Any other path (HACS's lists and data service) → bytes, served with an ETag.
    pub pages: HashMap<String, Vec<u8>>,
}

#[derive(Clone)]
pub struct MockGitHub {
    pub api: String,
    pub download: String,
    pub state: Arc<Mutex<State>>,
}

impl MockGitHub {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            page_size: 100,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&shared);
                thread::spawn(move || serve(stream, &state));
            }
        });
        Self {
            api: format!("{base}/api"),
            download: format!("{base}/dl"),
            state,
        }
    }

    pub fn add_repo(&self, name: &str, repo: Repo) {
        self.state
            .lock()
            .unwrap()
            .repos
            .insert(name.to_owned(), repo);
    }

    pub fn add_download(&self, path: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .downloads
            .insert(path.to_owned(), bytes);
    }

    /// Serves `bytes` at `path` (with an ETag and `304`s), e.g. `/hacs-default/integration`.
    pub fn add_page(&self, path: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .pages
            .insert(path.to_owned(), bytes);
    }

    /// The base URLs of HACS's lists and data service on this server.
    pub fn catalogue_urls(&self) -> (String, String) {
        let base = self.api.trim_end_matches("/api");
        (format!("{base}/hacs-default"), format!("{base}/hacs-data"))
    }

    /// Queues faults for a path (with query, as requested; e.g. `/api/repos/o/r`).
    pub fn fault(&self, path: &str, faults: Vec<Fault>) {
        self.state
            .lock()
            .unwrap()
            .faults
            .entry(path.to_owned())
            .or_default()
            .extend(faults);
    }

    /// How many requests each path received.
    pub fn count(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().log.clone()
    }

    /// The download paths requested so far (under `/dl`), in order.
    pub fn downloads(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .map(|r| r.path)
            .filter(|p| p.starts_with("/dl/"))
            .collect()
    }

    pub fn clear_log(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

/// A release as GitHub's API returns it.
pub fn release(tag: &str, draft: bool, prerelease: bool, assets: &[(&str, &[u8], bool)]) -> Value {
    let assets: Vec<Value> = assets
        .iter()
        .map(|(name, bytes, with_digest)| {
            let digest = with_digest.then(|| format!("sha256:{}", hacs_nix::hash::Sha256Digest::of(bytes).to_hex()));
            json!({ "name": name, "size": bytes.len(), "digest": digest, "content_type": "application/zip",
                    "browser_download_url": format!("https://github.com/x/y/releases/download/{tag}/{name}") })
        })
        .collect();
    json!({ "tag_name": tag, "name": tag, "draft": draft, "prerelease": prerelease,
            "published_at": "2026-01-01T00:00:00Z", "html_url": format!("https://github.com/x/y/releases/tag/{tag}"),
            "body": format!("Release {tag}"), "assets": assets })
}

pub fn info(description: &str, license: Option<&str>) -> Value {
    json!({ "description": description, "homepage": "https://example.org", "default_branch": "main", "archived": false,
            "license": license.map(|l| json!({ "key": l.to_lowercase(), "spdx_id": l })) })
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_lowercase(), v.trim().to_owned());
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    let (fault, latency) = {
        let mut s = state.lock().unwrap();
        s.log.push(Request {
            path: path.clone(),
            headers: headers.clone(),
            body: body.clone(),
        });
        (
            s.faults.get_mut(&path).and_then(VecDeque::pop_front),
            s.latency,
        )
    };
    thread::sleep(latency);
    if let Some(Fault::Delay(wait)) = fault {
        thread::sleep(wait);
    }
    let (status, extra, body) = match fault {
        Some(Fault::Drop) => return,
        Some(Fault::Status(code, ref extra, ref body)) => {
            (code, extra.clone(), body.clone().into_bytes())
        }
        _ if path == "/api/graphql" => graphql(&body, &headers, state),
        _ => route(&path, &headers, state),
    };
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in &extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    match fault {
        Some(Fault::Truncate(n)) => {
            let _ = stream.write_all(&body[..n.min(body.len())]);
        }
        Some(Fault::Stall(wait)) => {
            let _ = stream.write_all(&body[..body.len() / 2]);
            let _ = stream.flush();
            thread::sleep(wait);
        }
        _ => {
            let _ = stream.write_all(&body);
        }
    }
    let _ = stream.flush();
    let mut sink = [0u8; 1];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(1)));
    let _ = stream.read(&mut sink);
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn route(path: &str, headers: &HashMap<String, String>, state: &Mutex<State>) -> Answer {
    let s = state.lock().unwrap();
    if let Some(bytes) = s.pages.get(path) {
        let etag = format!(
            "\"{}\"",
            &hacs_nix::hash::Sha256Digest::of(bytes).to_hex()[..16]
        );
        if headers.get("if-none-match") == Some(&etag) {
            return (304, vec![("ETag", etag)], Vec::new());
        }
        return (200, vec![("ETag", etag)], bytes.clone());
    }
    if let Some(rest) = path.strip_prefix("/dl") {
        // GitHub decodes the path, as a tag with spaces or `$` reaches it percent-encoded.
        return match s.downloads.get(&decode(rest)) {
            Some(bytes) => (200, vec![], bytes.clone()),
            None => (404, vec![], b"Not Found".to_vec()),
        };
    }
    let Some(rest) = path.strip_prefix("/api/repos/") else {
        return not_found();
    };
    let (route, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parts: Vec<&str> = route.splitn(4, '/').collect();
    let [owner, name, tail @ ..] = parts.as_slice() else {
        return not_found();
    };
    let Some(repo) = s.repos.get(&format!("{owner}/{name}")) else {
        return not_found();
    };
    let param = |key: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
    };
    let mut link = None;
    let value: Value = match tail {
        [] => repo.info.clone(),
        ["releases"] => {
            let size = s
                .page_size
                .min(param("per_page").and_then(|p| p.parse().ok()).unwrap_or(30));
            let page: usize = param("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let start = (page - 1) * size;
            if start + size < repo.releases.len() {
                link = Some(format!(
                    "<http://{}/api/repos/{owner}/{name}/releases?per_page={size}&page={}>; rel=\"next\"",
                    headers.get("host").cloned().unwrap_or_default(),
                    page + 1
                ));
            }
            Value::Array(
                repo.releases
                    .iter()
                    .skip(start)
                    .take(size)
                    .cloned()
                    .collect(),
            )
        }
        ["releases", rest] if rest.starts_with("tags/") => {
            let tag = decode(&rest["tags/".len()..]);
            match repo.releases.iter().find(|r| r["tag_name"] == tag.as_str()) {
                Some(r) => r.clone(),
                None => return not_found(),
            }
        }
        ["commits", reference] => match repo.commits.get(&decode(reference)) {
            Some(sha) => json!({ "sha": sha }),
            None => return not_found(),
        },
        ["contents", file] => {
            let reference = decode(&param("ref").unwrap_or_default());
            let path = decode(file);
            match repo.files.get(&(reference.clone(), path.clone())) {
                Some(bytes) => {
                    json!({ "encoding": "base64", "content": data_encoding::BASE64.encode(bytes) })
                }
                // A folder: its entries, from the files under it.
                None => {
                    let prefix = if path.is_empty() {
                        String::new()
                    } else {
                        format!("{path}/")
                    };
                    let mut entries = std::collections::BTreeMap::new();
                    for (r, p) in repo.files.keys() {
                        if *r != reference {
                            continue;
                        }
                        if let Some(rest) = p.strip_prefix(&prefix) {
                            let (name, kind) = match rest.split_once('/') {
                                Some((dir, _)) => (dir, "dir"),
                                None => (rest, "file"),
                            };
                            entries.insert(name.to_owned(), kind);
                        }
                    }
                    if entries.is_empty() {
                        return not_found();
                    }
                    Value::Array(
                        entries
                            .into_iter()
                            .map(|(name, kind)| json!({ "name": name, "type": kind }))
                            .collect(),
                    )
                }
            }
        }
        _ => return not_found(),
    };
    let body = value.to_string().into_bytes();
    let etag = format!(
        "\"{}\"",
        &hacs_nix::hash::Sha256Digest::of(&body).to_hex()[..16]
    );
    if headers.get("if-none-match") == Some(&etag) {
        return (304, vec![("ETag", etag)], Vec::new());
    }
    let mut extra = vec![
        ("ETag", etag),
        ("Content-Type", "application/json".to_owned()),
        ("X-RateLimit-Remaining", "59".to_owned()),
    ];
    if let Some(link) = link {
        extra.push(("Link", link));
    }
    (200, extra, body)
}

/// GitHub's GraphQL API for the queries hacs-nix sends: each line `rN: repository(owner: $oN,
/// name: $nN) { … }` is answered from the REST state: `releases(first:, after: $cN)` pages
/// (cursors are offsets; `page_size` caps a page), the repository's facts, `pinned:
/// release(tagName: $tN)`, `tagref: ref(qualifiedName: $qN)` and `object(expression: $eN)`.
/// A repository it does not know is `null` with a `NOT_FOUND` error, as GitHub answers.
fn graphql(body: &str, headers: &HashMap<String, String>, state: &Mutex<State>) -> Answer {
    if !headers.contains_key("authorization") {
        return (
            401,
            vec![],
            br#"{"message":"This endpoint requires you to be authenticated."}"#.to_vec(),
        );
    }
    let s = state.lock().unwrap();
    let request: Value = serde_json::from_str(body).unwrap();
    let query = request["query"].as_str().unwrap();
    let vars = &request["variables"];
    assert_eq!(
        query.matches('{').count(),
        query.matches('}').count(),
        "unbalanced query: {query}"
    );
    let var = |text: &str, before: &str| -> Option<Value> {
        let start = text.find(before)? + before.len();
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        Some(vars[name.as_str()].clone())
    };
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    data.insert(
        "rateLimit".to_owned(),
        json!({ "cost": 1, "remaining": 4999 }),
    );
    for line in query.lines().map(str::trim) {
        let Some((alias, rest)) = line.split_once(": repository(") else {
            continue;
        };
        let owner = var(rest, "owner: $").unwrap();
        let name = var(rest, "name: $").unwrap();
        let full = format!("{}/{}", owner.as_str().unwrap(), name.as_str().unwrap());
        let Some(repo) = s.repos.get(&full) else {
            data.insert(alias.to_owned(), Value::Null);
            errors.push(json!({ "type": "NOT_FOUND", "path": [alias], "locations": [],
                                "message": format!("Could not resolve to a Repository with the name '{full}'.") }));
            continue;
        };
        let node = |r: &Value| {
            let tag = r["tag_name"].as_str().unwrap();
            let assets: Vec<Value> = r["assets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| json!({ "name": a["name"], "size": a["size"] }))
                .collect();
            json!({ "tagName": tag, "name": r["name"], "isDraft": r["draft"], "isPrerelease": r["prerelease"],
                    "publishedAt": r["published_at"], "url": r["html_url"], "description": r["body"],
                    "tagCommit": repo.commits.get(tag).map(|c| json!({ "oid": c })),
                    "releaseAssets": { "nodes": assets } })
        };
        let mut v = serde_json::Map::new();
        if let Some(at) = rest.find("releases(first: ") {
            let first: usize = rest[at + 16..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap();
            let start: usize = var(&rest[at..], "after: $")
                .and_then(|c| c.as_str().map(|c| c.parse().unwrap()))
                .unwrap_or(0);
            let size = first.min(s.page_size);
            let page: Vec<Value> = repo
                .releases
                .iter()
                .skip(start)
                .take(size)
                .map(node)
                .collect();
            let end = start + page.len();
            v.insert("releases".to_owned(), json!({
                "pageInfo": { "hasNextPage": end < repo.releases.len(), "endCursor": end.to_string() },
                "nodes": page }));
        }
        if rest.contains("homepageUrl") {
            let info = &repo.info;
            let branch = info["default_branch"].as_str().unwrap_or("main");
            v.insert("description".to_owned(), info["description"].clone());
            v.insert("homepageUrl".to_owned(), info["homepage"].clone());
            v.insert("isArchived".to_owned(), info["archived"].clone());
            v.insert(
                "licenseInfo".to_owned(),
                info["license"]
                    .as_object()
                    .map_or(Value::Null, |l| json!({ "spdxId": l["spdx_id"] })),
            );
            v.insert(
                "defaultBranchRef".to_owned(),
                repo.commits.get(branch).map_or(
                    Value::Null,
                    |c| json!({ "name": branch, "target": { "oid": c } }),
                ),
            );
        }
        if let Some(tag) = var(rest, "release(tagName: $") {
            let found = repo.releases.iter().find(|r| r["tag_name"] == tag);
            v.insert("pinned".to_owned(), found.map_or(Value::Null, node));
        }
        if let Some(q) = var(rest, "ref(qualifiedName: $") {
            let tag = q
                .as_str()
                .unwrap()
                .trim_start_matches("refs/tags/")
                .to_owned();
            v.insert(
                "tagref".to_owned(),
                repo.commits
                    .get(&tag)
                    .map_or(Value::Null, |c| json!({ "target": { "oid": c } })),
            );
        }
        if let Some(e) = var(rest, "object(expression: $") {
            let (commit, path) = e.as_str().unwrap().split_once(':').unwrap();
            let file = repo.files.iter().find(|((reference, p), _)| {
                p == path
                    && (reference == commit
                        || repo.commits.get(reference).is_some_and(|c| c == commit))
            });
            v.insert(
                "object".to_owned(),
                file.map_or(
                    Value::Null,
                    |(_, bytes)| json!({ "text": String::from_utf8_lossy(bytes) }),
                ),
            );
        }
        data.insert(alias.to_owned(), Value::Object(v));
    }
    let mut answer = json!({ "data": data });
    if !errors.is_empty() {
        answer["errors"] = Value::Array(errors);
    }
    (
        200,
        vec![("Content-Type", "application/json".to_owned())],
        answer.to_string().into_bytes(),
    )
}

fn not_found() -> Answer {
    (404, vec![], br#"{"message":"Not Found"}"#.to_vec())
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Client settings for the loopback GitHub: short retries and timeouts, an optional cache and
/// token.
pub fn test_settings(
    mock: &MockGitHub,
    cache: Option<&std::path::Path>,
    token: Option<&str>,
) -> hacs_nix::forge::Settings {
    use hacs_nix::forge::{EtagCache, RetryPolicy, Settings};
    Settings {
        api: mock.api.clone(),
        download: mock.download.clone(),
        token: token.map(str::to_owned),
        cache: cache.map(EtagCache::new),
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(5),
            secondary_wait: Duration::from_millis(150),
        },
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(400),
        ..Settings::default()
    }
}
