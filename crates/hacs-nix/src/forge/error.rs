use thiserror::Error;

/// Why talking to GitHub failed. Messages say what happened and what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ForgeError {
    #[error("{}", rate_limit_message(*.resets_at, *.authenticated, *.now))]
    RateLimited {
        resets_at: Option<u64>,
        authenticated: bool,
        now: u64,
    },
    #[error("{what} not found ({url})")]
    NotFound { what: String, url: String },
    /// GitHub answered, with a status that asking again cannot change (not retried).
    #[error("{url}: GitHub answered {}{}", status_text(*.status), message_part(.excerpt))]
    Http {
        url: String,
        status: u16,
        excerpt: String,
    },
    /// GitHub answered a server error on every attempt: it was reached, its side failed.
    #[error("{url}: GitHub answered {} on each of {attempts} attempts{}", status_text(*.status), message_part(.excerpt))]
    ServerError {
        url: String,
        status: u16,
        excerpt: String,
        attempts: u32,
    },
    /// GitHub's GraphQL endpoint is not there (a REST-only server, a proxy, GraphQL turned
    /// off): discovery carries on over REST, so this never fails a component.
    #[error("{url}: GitHub's GraphQL endpoint is not available ({reason})")]
    GraphqlUnavailable { url: String, reason: String },
    /// No answer at all: DNS, connection or TLS failures, dropped connections.
    #[error("{url}: {detail} (gave up after {attempts} attempts)")]
    Network {
        url: String,
        detail: String,
        attempts: u32,
    },
    #[error("{url}: the download ended after {got} of {expected} bytes")]
    Truncated {
        url: String,
        got: u64,
        expected: u64,
    },
    #[error(
        "{url}: the download's SHA-256 is {actual}, but GitHub's asset digest says {expected}; nothing was pinned"
    )]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("{url}: unexpected response: {detail}")]
    BadResponse { url: String, detail: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl ForgeError {
    /// The same failure again (one failed request answers for each repository it asked for).
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Self::RateLimited {
                resets_at,
                authenticated,
                now,
            } => Self::RateLimited {
                resets_at: *resets_at,
                authenticated: *authenticated,
                now: *now,
            },
            Self::NotFound { what, url } => Self::NotFound {
                what: what.clone(),
                url: url.clone(),
            },
            Self::Http {
                url,
                status,
                excerpt,
            } => Self::Http {
                url: url.clone(),
                status: *status,
                excerpt: excerpt.clone(),
            },
            Self::ServerError {
                url,
                status,
                excerpt,
                attempts,
            } => Self::ServerError {
                url: url.clone(),
                status: *status,
                excerpt: excerpt.clone(),
                attempts: *attempts,
            },
            Self::GraphqlUnavailable { url, reason } => Self::GraphqlUnavailable {
                url: url.clone(),
                reason: reason.clone(),
            },
            Self::Network {
                url,
                detail,
                attempts,
            } => Self::Network {
                url: url.clone(),
                detail: detail.clone(),
                attempts: *attempts,
            },
            other => Self::BadResponse {
                url: String::new(),
                detail: other.to_string(),
            },
        }
    }

    pub fn rule_id(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "github-rate-limit",
            Self::NotFound { .. } => "github-not-found",
            Self::Http { .. } => "github-http",
            Self::ServerError { .. } => "github-server-error",
            Self::GraphqlUnavailable { .. } => "github-graphql-unavailable",
            Self::Network { .. } => "github-unreachable",
            Self::Truncated { .. } => "download-truncated",
            Self::DigestMismatch { .. } => "download-digest-mismatch",
            Self::BadResponse { .. } => "github-bad-response",
            Self::Io { .. } => "io",
        }
    }

    /// What to do about it, for the front ends' `help:` line.
    pub fn help(&self) -> Option<&'static str> {
        Some(match self {
            Self::Network { .. } => {
                "no answer came: check the network, DNS and proxy settings (and HACS_NIX_GITHUB_API / HACS_NIX_GITHUB_DOWNLOAD)"
            }
            Self::Http { status: 401, .. } => {
                "GitHub refused the credentials: check GITHUB_TOKEN / GH_TOKEN, or unset it"
            }
            Self::Http { .. } => {
                "GitHub was reached and refused this request; its message says why (asking again would not change the answer)"
            }
            Self::ServerError { .. } => {
                "GitHub was reached but failed on its side; run again later"
            }
            Self::GraphqlUnavailable { .. } => {
                "releases are discovered over REST instead; HACS_NIX_GRAPHQL=0 skips GraphQL"
            }
            Self::RateLimited { .. }
            | Self::NotFound { .. }
            | Self::Truncated { .. }
            | Self::DigestMismatch { .. }
            | Self::BadResponse { .. }
            | Self::Io { .. } => return None,
        })
    }
}

/// `501 Not Implemented`: the code and its reason phrase.
pub(crate) fn status_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    match reason {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// `: <what GitHub said>`, or nothing when it said nothing.
fn message_part(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

fn rate_limit_message(resets_at: Option<u64>, authenticated: bool, now: u64) -> String {
    let when = match resets_at {
        Some(at) if at > now => {
            let (h, m) = ((at % 86_400) / 3600, (at % 3600) / 60);
            format!(
                "; it resets at {h:02}:{m:02} UTC (in {} min)",
                (at - now).div_ceil(60)
            )
        }
        Some(_) => "; it resets within the minute".to_owned(),
        None => String::new(),
    };
    if authenticated {
        format!("GitHub's API rate limit for this token is exhausted{when}")
    } else {
        format!(
            "GitHub's API rate limit is exhausted (60 requests an hour without a token){when}; set GITHUB_TOKEN or GH_TOKEN for 5,000 an hour"
        )
    }
}
