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
    #[error("{url}: GitHub answered {status}: {excerpt}")]
    Http {
        url: String,
        status: u16,
        excerpt: String,
    },
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
            Self::Network { .. } => "github-unreachable",
            Self::Truncated { .. } => "download-truncated",
            Self::DigestMismatch { .. } => "download-digest-mismatch",
            Self::BadResponse { .. } => "github-bad-response",
            Self::Io { .. } => "io",
        }
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
