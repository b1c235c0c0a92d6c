//! Requests to GitHub: retries with bounded, jittered backoff for server errors that may pass
//! and dropped connections (a 4xx or `501` is final: asking again cannot change it); `Retry-After` and secondary rate limits honoured; an exhausted primary limit is
//! an error that says when it resets; conditional requests from the ETag cache; downloads
//! verified by length and digest.

use std::io::Seek;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, ETAG, HeaderMap, IF_NONE_MATCH, LINK, RETRY_AFTER};

use super::cache::{Entry, EtagCache};
use super::error::ForgeError;
use crate::download::{self, Attempt, Progress};
use crate::hash::Sha256Digest;

/// How persistent to be.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the run fails with the reason.
    pub max_retry_after: Duration,
    /// Wait after a secondary rate limit that gives no `Retry-After` (GitHub asks for a minute).
    pub secondary_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(120),
            secondary_wait: Duration::from_secs(60),
        }
    }
}

/// One response body of the API.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub body: String,
    pub link: Option<String>,
}

/// The largest API answer read: a bigger one is refused, never held in memory.
pub const MAX_API_ANSWER: usize = 10 << 20;

#[derive(Debug)]
pub(crate) struct Engine {
    pub client: reqwest::Client,
    pub token: Option<String>,
    pub cache: Option<EtagCache>,
    pub retry: RetryPolicy,
    requests: AtomicU64,
    seed: AtomicU64,
    /// Set once the primary rate limit is exhausted (reset time, token, when): no further
    /// request is sent this run.
    exhausted: std::sync::Mutex<Option<(Option<u64>, bool, u64)>>,
}

enum Step {
    Done(Option<Answer>),
    /// Try again: after the given wait, or the backoff for this attempt.
    Retry(Option<Duration>, Missed),
}

/// Why an attempt brought nothing: no answer at all, or an answer worth asking again for.
enum Missed {
    /// DNS, connection, TLS, a body cut off: GitHub was not (fully) reached.
    Connection(String),
    /// GitHub answered (a server error, a rate limit to wait out).
    Answer { status: u16, excerpt: String },
}

impl Missed {
    /// The error after the last attempt: no answer is `Network`; a server error on every
    /// attempt is `ServerError`; a rate limit still asking to wait is the answer itself.
    fn gave_up(self, url: &str, attempts: u32) -> ForgeError {
        let url = url.to_owned();
        match self {
            Self::Connection(detail) => ForgeError::Network {
                url,
                detail,
                attempts,
            },
            Self::Answer { status, excerpt } if status >= 500 => ForgeError::ServerError {
                url,
                status,
                excerpt,
                attempts,
            },
            Self::Answer { status, excerpt } => ForgeError::Http {
                url,
                status,
                excerpt,
            },
        }
    }
}

/// Server errors that asking again may change. `501 Not Implemented` (and `505`) say the
/// server does not do this at all, so they are final like a 4xx.
pub(crate) fn retryable(status: StatusCode) -> bool {
    status.is_server_error()
        && status != StatusCode::NOT_IMPLEMENTED
        && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED
}

impl Engine {
    pub fn new(
        client: reqwest::Client,
        token: Option<String>,
        cache: Option<EtagCache>,
        retry: RetryPolicy,
    ) -> Self {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Self {
            client,
            token,
            cache,
            retry,
            requests: AtomicU64::new(0),
            seed: AtomicU64::new(seed),
            exhausted: std::sync::Mutex::new(None),
        }
    }

    /// The rate-limit error that stopped the run, if one did.
    fn stopped(&self) -> Option<ForgeError> {
        let guard = self.exhausted.lock().unwrap_or_else(|e| e.into_inner());
        guard.map(|(resets_at, authenticated, now)| ForgeError::RateLimited {
            resets_at,
            authenticated,
            now,
        })
    }

    /// Remembers an exhausted primary limit, so every later request stops at once.
    fn remember<T>(&self, result: Result<T, ForgeError>) -> Result<T, ForgeError> {
        if let Err(ForgeError::RateLimited {
            resets_at,
            authenticated,
            now,
        }) = &result
        {
            let mut guard = self.exhausted.lock().unwrap_or_else(|e| e.into_inner());
            guard.get_or_insert((*resets_at, *authenticated, *now));
        }
        result
    }

    /// Stops every later request after a rate limit reported in an answer's body (GraphQL).
    pub fn remember_limit(&self, limited: ForgeError) -> ForgeError {
        match self.remember::<()>(Err(limited)) {
            Err(e) => e,
            Ok(()) => ForgeError::BadResponse {
                url: String::new(),
                detail: "rate limited".to_owned(),
            },
        }
    }

    /// Requests sent so far (each retry counts).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Backoff for the n-th retry: exponential, capped, with jitter so parallel retries spread.
    fn backoff(&self, attempt: u32) -> Duration {
        let mut x = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let exp = self
            .retry
            .base_delay
            .saturating_mul(1 << attempt.min(16).saturating_sub(1));
        let capped = exp.min(self.retry.max_delay);
        capped.mul_f64(0.5 + (x % 1000) as f64 / 2000.0)
    }

    /// GET an API URL; `None` for 404.
    pub async fn get(&self, url: &str, accept: &str) -> Result<Option<Answer>, ForgeError> {
        if let Some(stopped) = self.stopped() {
            return Err(stopped);
        }
        let result = self.get_retrying(url, accept).await;
        self.remember(result)
    }

    /// POST a JSON body (GraphQL) to an API URL; never cached; `None` for 404.
    pub async fn post(&self, url: &str, body: &str) -> Result<Option<Answer>, ForgeError> {
        if let Some(stopped) = self.stopped() {
            return Err(stopped);
        }
        let result = self
            .send_retrying(url, "application/json", Some(body))
            .await;
        self.remember(result)
    }

    async fn get_retrying(&self, url: &str, accept: &str) -> Result<Option<Answer>, ForgeError> {
        self.send_retrying(url, accept, None).await
    }

    async fn send_retrying(
        &self,
        url: &str,
        accept: &str,
        body: Option<&str>,
    ) -> Result<Option<Answer>, ForgeError> {
        let authenticated = self.token.is_some();
        let cached = self
            .cache
            .as_ref()
            .filter(|_| body.is_none())
            .and_then(|c| c.get(url, accept, authenticated));
        let mut last = Missed::Connection(String::new());
        for attempt in 1..=self.retry.attempts {
            match self.try_get(url, accept, cached.as_ref(), body).await? {
                Step::Done(answer) => return Ok(answer),
                Step::Retry(wait, why) => {
                    last = why;
                    if attempt < self.retry.attempts {
                        tokio::time::sleep(wait.unwrap_or_else(|| self.backoff(attempt))).await;
                    }
                }
            }
        }
        Err(last.gave_up(url, self.retry.attempts))
    }

    async fn try_get(
        &self,
        url: &str,
        accept: &str,
        cached: Option<&Entry>,
        payload: Option<&str>,
    ) -> Result<Step, ForgeError> {
        let request = match payload {
            Some(payload) => self
                .client
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(payload.to_owned()),
            None => self.client.get(url),
        };
        let mut request = request
            .header(ACCEPT, accept)
            .header("X-GitHub-Api-Version", "2022-11-28");
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(entry) = cached {
            request = request.header(IF_NONE_MATCH, &entry.etag);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return Ok(Step::Retry(None, Missed::Connection(describe(&e)))),
        };
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::NOT_MODIFIED
            && let Some(entry) = cached
        {
            return Ok(Step::Done(Some(Answer {
                body: entry.body.clone(),
                link: entry.link.clone(),
            })));
        }
        if status == StatusCode::NOT_FOUND {
            return Ok(Step::Done(None));
        }
        let body = match read_capped(response).await {
            Ok(body) => body,
            Err(Unread::Broken(why)) => return Ok(Step::Retry(None, Missed::Connection(why))),
            Err(Unread::TooLarge(size)) => {
                return Err(ForgeError::BadResponse {
                    url: url.to_owned(),
                    detail: Unread::too_large_message(&size),
                });
            }
        };
        if status.is_success() {
            let link = header(&headers, LINK.as_str());
            // Every API answer is JSON: one that is not is an error, and never cached.
            if serde_json::from_str::<serde::de::IgnoredAny>(&body).is_err() {
                return Err(ForgeError::BadResponse {
                    url: url.to_owned(),
                    detail: format!("not JSON: {}", excerpt(&body)),
                });
            }
            if let (Some(cache), Some(etag), None) =
                (&self.cache, header(&headers, ETAG.as_str()), payload)
            {
                let entry = Entry {
                    etag,
                    body: body.clone(),
                    link: link.clone(),
                };
                cache.put(url, accept, self.token.is_some(), &entry);
            }
            return Ok(Step::Done(Some(Answer { body, link })));
        }
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            return self.limited(url, status, &headers, &body);
        }
        if retryable(status) {
            return Ok(Step::Retry(
                None,
                Missed::Answer {
                    status: status.as_u16(),
                    excerpt: excerpt(&body),
                },
            ));
        }
        Err(ForgeError::Http {
            url: url.to_owned(),
            status: status.as_u16(),
            excerpt: excerpt(&body),
        })
    }

    fn limited(
        &self,
        url: &str,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> Result<Step, ForgeError> {
        if let Some(seconds) =
            header(headers, RETRY_AFTER.as_str()).and_then(|v| v.trim().parse::<u64>().ok())
        {
            let wait = Duration::from_secs(seconds);
            if wait <= self.retry.max_retry_after {
                return Ok(Step::Retry(
                    Some(wait),
                    Missed::Answer {
                        status: status.as_u16(),
                        excerpt: format!("GitHub asked to retry after {seconds} s"),
                    },
                ));
            }
        }
        let remaining =
            header(headers, "x-ratelimit-remaining").and_then(|v| v.parse::<u64>().ok());
        if remaining == Some(0) || header(headers, RETRY_AFTER.as_str()).is_some() {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let resets_at = header(headers, "x-ratelimit-reset").and_then(|v| v.parse().ok());
            return Err(ForgeError::RateLimited {
                resets_at,
                authenticated: self.token.is_some(),
                now,
            });
        }
        if body.to_lowercase().contains("secondary rate limit") {
            return Ok(Step::Retry(
                Some(self.retry.secondary_wait),
                Missed::Answer {
                    status: status.as_u16(),
                    excerpt: "GitHub's secondary rate limit".to_owned(),
                },
            ));
        }
        Err(ForgeError::Http {
            url: url.to_owned(),
            status: status.as_u16(),
            excerpt: excerpt(body),
        })
    }

    /// Downloads `url` into `out` (rewound and rewritten on each attempt). Verifies the length
    /// against `Content-Length` and `expected_size`, and the SHA-256 against `expected_digest`.
    /// Returns the size and the flat SHA-256.
    pub async fn download(
        &self,
        url: &str,
        expected_size: Option<u64>,
        expected_digest: Option<Sha256Digest>,
        out: &mut std::fs::File,
        progress: &dyn Progress,
    ) -> Result<(u64, Sha256Digest), ForgeError> {
        if let Some(stopped) = self.stopped() {
            return Err(stopped);
        }
        let result = self
            .download_retrying(url, expected_size, expected_digest, out, progress)
            .await;
        self.remember(result)
    }

    async fn download_retrying(
        &self,
        url: &str,
        expected_size: Option<u64>,
        expected_digest: Option<Sha256Digest>,
        out: &mut std::fs::File,
        progress: &dyn Progress,
    ) -> Result<(u64, Sha256Digest), ForgeError> {
        let mut last = Missed::Connection(String::new());
        let mut truncated = None;
        for attempt in 1..=self.retry.attempts {
            out.set_len(0)
                .and_then(|()| out.rewind())
                .map_err(|source| ForgeError::Io {
                    context: "cannot reset the download file".to_owned(),
                    source,
                })?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = download::attempt(&self.client, url, expected_size, out, progress)
                .await
                .map_err(|source| ForgeError::Io {
                    context: "cannot write the download".to_owned(),
                    source,
                })?;
            let (got, digest) = match outcome {
                Attempt::Complete { len, digest } => (len, digest),
                Attempt::Status(StatusCode::NOT_FOUND, _) => {
                    return Err(ForgeError::NotFound {
                        what: "the download".to_owned(),
                        url: url.to_owned(),
                    });
                }
                Attempt::Status(status, Some(seconds))
                    if Duration::from_secs(seconds) > self.retry.max_retry_after =>
                {
                    return Err(ForgeError::Http {
                        url: url.to_owned(),
                        status: status.as_u16(),
                        excerpt: format!("the server asked to retry after {seconds} s"),
                    });
                }
                Attempt::Status(status, retry_after)
                    if retryable(status)
                        || status == StatusCode::TOO_MANY_REQUESTS
                        || retry_after.is_some() =>
                {
                    last = Missed::Answer {
                        status: status.as_u16(),
                        excerpt: String::new(),
                    };
                    if attempt < self.retry.attempts {
                        let wait = retry_after.map(Duration::from_secs);
                        tokio::time::sleep(wait.unwrap_or_else(|| self.backoff(attempt))).await;
                    }
                    continue;
                }
                Attempt::Status(status, _) => {
                    return Err(ForgeError::Http {
                        url: url.to_owned(),
                        status: status.as_u16(),
                        excerpt: String::new(),
                    });
                }
                Attempt::Unsent(why) => {
                    last = Missed::Connection(why);
                    self.pause(attempt).await;
                    continue;
                }
                Attempt::Broken {
                    got,
                    expected,
                    error,
                } => {
                    last = Missed::Connection(error.unwrap_or_else(|| {
                        format!("{got} of {} bytes", expected.unwrap_or_default())
                    }));
                    truncated = expected.filter(|e| *e != got).map(|e| (got, e));
                    self.pause(attempt).await;
                    continue;
                }
            };
            if let Some(size) = expected_size.filter(|s| *s != got) {
                return Err(ForgeError::Truncated {
                    url: url.to_owned(),
                    got,
                    expected: size,
                });
            }
            if let Some(want) = expected_digest.filter(|w| *w != digest) {
                return Err(ForgeError::DigestMismatch {
                    url: url.to_owned(),
                    expected: want.to_hex(),
                    actual: digest.to_hex(),
                });
            }
            return Ok((got, digest));
        }
        match truncated {
            Some((got, expected)) => Err(ForgeError::Truncated {
                url: url.to_owned(),
                got,
                expected,
            }),
            None => Err(last.gave_up(url, self.retry.attempts)),
        }
    }

    async fn pause(&self, attempt: u32) {
        if attempt < self.retry.attempts {
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }
}

/// Why an answer's body could not be read whole.
#[derive(Debug)]
pub(crate) enum Unread {
    /// More than [`MAX_API_ANSWER`]: refused, never held in memory (the text says how large).
    TooLarge(String),
    /// The connection broke (worth a retry).
    Broken(String),
}

impl Unread {
    pub(crate) fn too_large_message(size: &str) -> String {
        format!(
            "the answer is {size}, more than the {} MiB an API answer may be; refused unread",
            MAX_API_ANSWER >> 20
        )
    }
}

/// The body, read up to [`MAX_API_ANSWER`]: the GitHub API's answers and the Python index's
/// pages alike.
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<String, Unread> {
    if let Some(length) = response
        .content_length()
        .filter(|l| *l > MAX_API_ANSWER as u64)
    {
        return Err(Unread::TooLarge(format!("{length} bytes")));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_API_ANSWER {
                    return Err(Unread::TooLarge("larger".to_owned()));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(Unread::Broken(describe(&e))),
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn excerpt(body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    message.trim().to_owned()
}

pub(crate) use crate::download::error_chain as describe;
