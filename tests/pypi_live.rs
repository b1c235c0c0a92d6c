//! One live test against the real Python package index, reached as pip is configured (no host
//! is written here): the file chosen for `micloud==0.6` and its hash are the ones
//! `pip download --no-deps --no-binary :all: micloud==0.6` fetches. Ignored by default;
//! `.ci/run` runs it (`cargo test --test pypi_live -- --ignored`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use hacs_nix::pypi::{self, Kind};

#[test]
#[ignore = "reaches the real index; .ci/run runs it"]
fn micloud_as_pip_downloads_it() {
    let python = support::builder::oracle_python();
    let work = tempfile::tempdir().unwrap();
    let pip = std::process::Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            "micloud==0.6",
            "-d",
        ])
        .arg(work.path())
        .status()
        .unwrap();
    assert!(pip.success(), "pip download failed");
    let pip_file = work.path().join("micloud-0.6.tar.gz");
    let pip_digest = hacs_nix::hash::Sha256Digest::of(&std::fs::read(&pip_file).unwrap());

    let index = pypi::index_url(&python).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = pypi::client().unwrap();
    let files = rt
        .block_on(pypi::project(&client, &index, "micloud"))
        .unwrap();
    let chosen = pypi::choose(
        &files,
        &hacs_nix::requirement::parse("micloud==0.6").unwrap(),
        "3.14.0",
    )
    .unwrap();
    assert_eq!(chosen.kind, Kind::Sdist);
    assert_eq!(chosen.file.filename, "micloud-0.6.tar.gz");
    let ours = work.path().join("ours.tar.gz");
    let mut out = std::fs::File::create(&ours).unwrap();
    let digest = rt
        .block_on(pypi::download(&client, &chosen, &mut out))
        .unwrap();
    assert_eq!(digest, pip_digest, "the file pip fetches, byte for byte");
    let meta = pypi::metadata::read(&ours, "micloud-0.6.tar.gz", &[], ("3.14", "3.14.0")).unwrap();
    assert_eq!(
        (meta.name.as_str(), meta.version.as_str()),
        ("micloud", "0.6")
    );
}
