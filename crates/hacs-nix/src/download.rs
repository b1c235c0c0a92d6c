//! Downloading a URL into a file, streamed, with progress reported to the caller (the library
//! never prints).

use std::io::Write;

use futures_util::StreamExt;

use crate::hash::{HashingWriter, Sha256Digest};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DownloadError {
    #[error("{url}: {detail}")]
    Network { url: String, detail: String },
    #[error("{url}: the server answered {status}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
    },
    #[error("{url}: the body ended after {got} of {expected} bytes")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
    },
    #[error("writing the download of {url}: {source}")]
    Io { url: String, source: std::io::Error },
}

/// reqwest's own message ("error sending request") hides the cause (DNS, refused, TLS): show
/// the whole chain.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Progress of one download: bytes so far and the total when the server said it.
pub trait Progress {
    fn started(&self, total: Option<u64>);
    fn advanced(&self, bytes: u64);
}

impl Progress for () {
    fn started(&self, _: Option<u64>) {}
    fn advanced(&self, _: u64) {}
}

/// The outcome of one GET streamed into a writer.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The whole body: its length and SHA-256.
    Complete { len: u64, digest: Sha256Digest },
    /// No response: DNS, refused, TLS, a timeout before the headers.
    Unsent(String),
    /// A status other than success, with the `Retry-After` it gave (seconds); nothing was
    /// written.
    Status(reqwest::StatusCode, Option<u64>),
    /// The body broke off (`error`), or ended cleanly short of `expected` bytes.
    Broken {
        got: u64,
        expected: Option<u64>,
        error: Option<String>,
    },
}

/// One GET of `url` streamed into `out`, hashed on the way. The expected length is the
/// server's `Content-Length`, else `size_hint`. Only writing to `out` can fail here.
pub(crate) async fn attempt(
    client: &reqwest::Client,
    url: &str,
    size_hint: Option<u64>,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> std::io::Result<Attempt> {
    let response = match client.get(url).send().await {
        Ok(response) => response,
        Err(e) => return Ok(Attempt::Unsent(error_chain(&e))),
    };
    let status = response.status();
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        return Ok(Attempt::Status(status, retry_after));
    }
    let expected = response.content_length().or(size_hint);
    progress.started(expected);
    let mut hasher = HashingWriter::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                out.write_all(&chunk)?;
                hasher.write_all(&chunk)?;
                progress.advanced(hasher.written());
            }
            Err(e) => {
                return Ok(Attempt::Broken {
                    got: hasher.written(),
                    expected,
                    error: Some(error_chain(&e)),
                });
            }
        }
    }
    let got = hasher.written();
    if expected.is_some_and(|e| e != got) {
        return Ok(Attempt::Broken {
            got,
            expected,
            error: None,
        });
    }
    Ok(Attempt::Complete {
        len: got,
        digest: hasher.finish(),
    })
}

/// Streams `url` into `out`, once (no retries); returns the byte count. A body shorter than its
/// `Content-Length` is an error, never a short file.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    out: &mut impl Write,
    progress: &dyn Progress,
) -> Result<u64, DownloadError> {
    let url_owned = || url.to_owned();
    let attempt = attempt(client, url, None, out, progress)
        .await
        .map_err(|source| DownloadError::Io {
            url: url_owned(),
            source,
        })?;
    match attempt {
        Attempt::Complete { len, .. } => Ok(len),
        Attempt::Unsent(detail)
        | Attempt::Broken {
            error: Some(detail),
            ..
        } => Err(DownloadError::Network {
            url: url_owned(),
            detail,
        }),
        Attempt::Status(status, _) => Err(DownloadError::Status {
            url: url_owned(),
            status,
        }),
        Attempt::Broken {
            got,
            expected,
            error: None,
        } => Err(DownloadError::Truncated {
            url: url_owned(),
            got,
            expected: expected.unwrap_or_default(),
        }),
    }
}
