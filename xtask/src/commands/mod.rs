pub mod prefetch;

use crate::output::Failure;

/// One HTTP client for the whole run: rustls with the ring provider, a user agent GitHub accepts,
/// and timeouts so that a stalled server cannot hang the run.
pub fn http_client() -> Result<reqwest::Client, Failure> {
    // Installing twice fails harmlessly; the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("hacs-nix/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(15))
        .read_timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| {
            Failure::could_not_run(
                "http",
                format!("cannot set up the HTTP client: {e}"),
                None,
                None,
            )
        })
}
