pub mod catalogue_add;
pub mod check;
pub mod deps;
pub mod lint;
pub mod prefetch;
pub mod search;
pub mod survey;
pub mod update;

use std::io::IsTerminal;

use crate::output::Failure;

/// One HTTP client for the whole run: rustls with the ring provider, a user agent GitHub accepts,
/// and timeouts so that a stalled server cannot hang the run.
pub fn http_client() -> Result<reqwest::Client, Failure> {
    hacs_nix::forge::install_tls_provider();
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

/// The source tree of a checkout folder or an archive, and how it reaches the build: a
/// folder or a tarball as the tag's source (root stripped), a zip as a release asset (its
/// root the integration); `asset` overrides. Archives are unpacked from the file, not read
/// into memory first.
pub fn load_tree(
    path: &std::path::Path,
    asset: Option<bool>,
) -> Result<(hacs_nix::tree::Tree, hacs_nix::layout::SourceKind), hacs_nix::archive::ArchiveError> {
    use hacs_nix::archive::{self, Format, Limits, UnpackOptions};
    use hacs_nix::layout::SourceKind;
    let kind_for = |zip: bool| {
        if asset.unwrap_or(zip) {
            SourceKind::ReleaseAsset
        } else {
            SourceKind::SourceArchive
        }
    };
    if path.is_dir() {
        return Ok((
            archive::read_dir(path, &Limits::default())?,
            kind_for(false),
        ));
    }
    let kind = kind_for(archive::detect_path(path)? == Format::Zip);
    let options = UnpackOptions {
        strip_root: kind == SourceKind::SourceArchive,
        ..UnpackOptions::default()
    };
    let (_, tree) = archive::unpack_path(path, &options)?;
    Ok((tree, kind))
}

/// A command's input: a local path, or an http(s) URL downloaded to a temporary file that
/// lives as long as this value.
pub enum Input {
    Path(std::path::PathBuf),
    Downloaded(tempfile::NamedTempFile),
}

impl Input {
    pub fn is_url(source: &str) -> bool {
        source.starts_with("http://") || source.starts_with("https://")
    }

    pub fn open(source: &str) -> Result<Self, Failure> {
        if Self::is_url(source) {
            download_to_temp(source).map(Self::Downloaded)
        } else {
            Ok(Self::Path(source.into()))
        }
    }

    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Path(path) => path,
            Self::Downloaded(file) => file.path(),
        }
    }
}

/// Downloads `url` into a temporary file (deleted on drop), with a progress bar on a terminal.
pub fn download_to_temp(url: &str) -> Result<tempfile::NamedTempFile, Failure> {
    let mut file = tempfile::NamedTempFile::new().map_err(|e| {
        Failure::could_not_run(
            "io",
            format!("cannot create a temporary file: {e}"),
            None,
            None,
        )
    })?;
    let client = crate::commands::http_client()?;
    let runtime = runtime()?;
    let bar = Bar::single(url.rsplit('/').next().unwrap_or(url));
    let result = runtime.block_on(hacs_nix::download::download(
        &client,
        url,
        file.as_file_mut(),
        &bar,
    ));
    bar.finish();
    result.map_err(|e| {
        Failure::could_not_run(
            "download",
            e.to_string(),
            Some(url.to_owned()),
            Some("check the URL and the network; GitHub and its mirrors must be reachable"),
        )
    })?;
    Ok(file)
}

/// Progress bars on a terminal, one per download; nothing otherwise (plain logs need no
/// per-chunk lines).
pub struct Bars(Option<indicatif::MultiProgress>);

impl Bars {
    pub fn new() -> Self {
        Self(
            std::io::stderr()
                .is_terminal()
                .then(indicatif::MultiProgress::new),
        )
    }

    pub fn bar(&self, label: &str) -> Bar {
        Bar(
            self.0.as_ref().map(|m| m.add(Bar::styled(label))),
            label.to_owned(),
        )
    }

    pub fn clear(&self) {
        if let Some(m) = &self.0 {
            let _ = m.clear();
        }
    }
}

/// A bar on a terminal; otherwise a plain log line when a download starts.
pub struct Bar(Option<indicatif::ProgressBar>, String);

impl Bar {
    /// A lone bar, for one download.
    pub fn single(label: &str) -> Self {
        Self(
            std::io::stderr().is_terminal().then(|| Self::styled(label)),
            label.to_owned(),
        )
    }

    fn styled(label: &str) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "{msg:30} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(label.to_owned());
        bar
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl hacs_nix::download::Progress for Bar {
    fn started(&self, total: Option<u64>) {
        match (&self.0, total) {
            (Some(bar), Some(total)) => bar.set_length(total),
            (Some(_), None) => {}
            (None, total) => {
                let size = total.map_or_else(String::new, |t| format!(" ({t} bytes)"));
                crate::output::eprint(&format!("downloading {}{size}\n", self.1));
            }
        }
    }

    fn advanced(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(bytes);
        }
    }
}

/// A runtime for the async library calls of one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::could_not_run(
                "internal",
                format!("cannot start the async runtime: {e}"),
                None,
                None,
            )
        })
}
