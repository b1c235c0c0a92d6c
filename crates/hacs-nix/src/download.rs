//! Downloading a URL into a file, streamed, with progress reported to the caller (the library
//! never prints).

use std::io::Write;

use futures_util::StreamExt;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DownloadError {
    #[error("{url}: {}", error_chain(source))]
    Network { url: String, source: reqwest::Error },
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

/// Streams `url` into `out`; returns the byte count. A body shorter than its `Content-Length`
/// is an error, never a short file.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    out: &mut impl Write,
    progress: &dyn Progress,
) -> Result<u64, DownloadError> {
    let network = |source| DownloadError::Network {
        url: url.to_owned(),
        source,
    };
    let response = client.get(url).send().await.map_err(network)?;
    let status = response.status();
    if !status.is_success() {
        return Err(DownloadError::Status {
            url: url.to_owned(),
            status,
        });
    }
    let expected = response.content_length();
    progress.started(expected);
    let mut got = 0u64;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(network)?;
        out.write_all(&chunk).map_err(|source| DownloadError::Io {
            url: url.to_owned(),
            source,
        })?;
        got += chunk.len() as u64;
        progress.advanced(got);
    }
    if let Some(expected) = expected.filter(|&e| e != got) {
        return Err(DownloadError::Truncated {
            url: url.to_owned(),
            got,
            expected,
        });
    }
    Ok(got)
}
