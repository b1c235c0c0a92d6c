//! Every sink of upstream or lock text in generated Nix, fed arbitrary strings: the Nix value
//! (real `nix-instantiate --eval`) is exactly the string, and every command `postPatch` runs
//! (real `bash`) receives exactly the intended words as its arguments. 10,000 cases, from a
//! seed printed on failure (`HACS_NIX_ESCAPING_SEED` replays one, `HACS_NIX_ESCAPING_CASES`
//! changes the count).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use hacs_nix::fetch::Fetcher;
use hacs_nix::lock::{LockEntry, Meta, Patches, Verified};
use hacs_nix::nixgen;
use serde_json::Value;

/// Characters and pieces that mean something to Nix strings, indented strings or bash.
const PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    "9",
    ".",
    "-",
    "_",
    "/",
    " ",
    "$",
    "{",
    "}",
    "'",
    "\"",
    "\\",
    "`",
    "\n",
    "\t",
    ";",
    "(",
    ")",
    "|",
    "&",
    "*",
    "?",
    "~",
    "#",
    "!",
    "<",
    ">",
    "=",
    "@",
    "%",
    "+",
    ",",
    ":",
    "é",
    "€",
    "日",
    "''",
    "${",
    "$(",
    "''${",
    "'''",
    "\\${",
    "$$",
    "''\\",
    "${x}",
    "$(touch pwned)",
    "'$(touch pwned)'",
    "\"'",
    "-rf",
    "--",
    "\r",
];

/// xorshift64*: small, seedable, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self, max: usize) -> String {
        (0..self.below(max + 1))
            .map(|_| PIECES[self.below(PIECES.len())])
            .collect()
    }
}

/// One case: a lock entry whose every sink holds generated text, and what each should become.
struct Case {
    entry: LockEntry,
    manifest: String,
}

fn case(rng: &mut Rng, i: usize) -> Case {
    let manifest = format!(
        "custom_components/{}/manifest.json",
        rng.text(6).replace('\0', "")
    );
    let version = rng.text(8);
    let mut folder = rng.text(6).replace('/', "");
    if folder.is_empty() || folder == "." || folder == ".." {
        folder.push('f');
    }
    let dropped = format!("d{}", rng.text(8));
    let relaxed_from = format!("r{}", rng.text(8));
    let relaxed_to = rng.text(8);
    let link = format!("custom_components/{}", rng.text(6));
    let entry = LockEntry {
        repo: "o/r".to_owned(),
        version: rng.text(8),
        commit: Some("0".repeat(40)),
        url: format!("https://example.org/{}", rng.text(8)),
        fetcher: if i.is_multiple_of(2) {
            Fetcher::FetchFromGitHub
        } else {
            Fetcher::Fetchzip
        },
        strip_root: false,
        hash: "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        domain: "x".to_owned(),
        home_assistant_min: None,
        requirements: BTreeMap::new(),
        dependencies: Vec::new(),
        ignore_version_requirement: Vec::new(),
        patches: Patches {
            stamp_version: [(manifest.clone(), version)].into(),
            drop_requirements: [(manifest.clone(), vec![dropped])].into(),
            rename_folder: Some((folder, "x".to_owned())),
            relax_requirements: [(manifest.clone(), [(relaxed_from, relaxed_to)].into())].into(),
            remove_symlinks: vec![link],
        },
        phases: hacs_nix::lock::Phases {
            dont_configure: Some("configure".to_owned()),
            dont_build: Some("Makefile".to_owned()),
        },
        meta: Meta {
            description: Some(rng.text(10)),
            homepage: Some(rng.text(6)),
            license: None,
            changelog: Some(rng.text(6)),
        },
        findings: Vec::new(),
        verified: Verified::Downloaded,
    };
    Case { entry, manifest }
}

/// The words each command must receive, in order.
fn expected(case: &Case) -> Vec<Vec<String>> {
    let p = &case.entry.patches;
    let m = &case.manifest;
    let (from, to) = p.relax_requirements[m].iter().next().unwrap();
    let (folder, domain) = p.rename_folder.clone().unwrap();
    vec![
        vec![
            "python".to_owned(),
            "-I".to_owned(),
            "-c".to_owned(),
            nixgen::EDIT_MANIFEST.to_owned(),
            m.clone(),
            p.stamp_version[m].clone(),
            p.drop_requirements[m][0].clone(),
            String::new(),
            from.clone(),
            to.clone(),
        ],
        vec![
            "rm".to_owned(),
            "--".to_owned(),
            p.remove_symlinks[0].clone(),
        ],
        vec![
            "mv".to_owned(),
            format!("custom_components/{folder}"),
            format!("custom_components/{domain}"),
        ],
    ]
}

#[test]
fn every_sink_keeps_its_text_and_its_words() {
    let seed: u64 = std::env::var("HACS_NIX_ESCAPING_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_1202);
    let count: usize = std::env::var("HACS_NIX_ESCAPING_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let mut rng = Rng(seed | 1);
    let work = tempfile::tempdir().unwrap();
    let cases: Vec<Case> = (0..count).map(|i| case(&mut rng, i)).collect();
    let mut list = String::from("[\n");
    for (i, case) in cases.iter().enumerate() {
        let text = nixgen::render_component(&case.entry)
            .unwrap_or_else(|e| panic!("seed {seed}, case {i}: {e}"));
        std::fs::write(work.path().join(format!("c{i}.nix")), text).unwrap();
        let _ = writeln!(list, "  (call ./c{i}.nix)");
    }
    list.push(']');

    // Real Nix: every case evaluated against stubs that record; lib.escapeShellArg(s) as
    // nixpkgs defines them.
    let expr = format!(
        r#"
      let
        escapeShellArg = arg:
          let s = toString arg; in
          if builtins.match "[[:alnum:],._+:@%/-]+" s == null
          then "'${{builtins.replaceStrings [ "'" ] [ "'\\''" ] s}}'"
          else s;
        stubs = {{
          lib = {{ inherit escapeShellArg; escapeShellArgs = args: builtins.concatStringsSep " " (map escapeShellArg args); licenses = {{ }}; }};
          buildHomeAssistantComponent = args: args;
          fetchFromGitHub = args: args;
          fetchzip = args: args;
          python = {{ interpreter = "record_python"; }};
        }};
        call = path: let f = import path; in
          let a = f (builtins.intersectAttrs (builtins.functionArgs f) stubs); in
          {{ inherit (a) postPatch; tag = a.src.tag or null; url = a.src.url or null;
             inherit (a.meta) description homepage changelog; }};
      in
      {list}
    "#
    );
    std::fs::write(work.path().join("all.nix"), expr).unwrap();
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "all.nix"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seed {seed}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let values: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for (i, (case, value)) in cases.iter().zip(&values).enumerate() {
        let e = &case.entry;
        let want_src = match e.fetcher {
            Fetcher::FetchFromGitHub => ("tag", e.version.as_str()),
            Fetcher::Fetchzip => ("url", e.url.as_str()),
        };
        assert_eq!(value[want_src.0], want_src.1, "seed {seed}, case {i}");
        for (key, want) in [
            ("description", &e.meta.description),
            ("homepage", &e.meta.homepage),
            ("changelog", &e.meta.changelog),
        ] {
            assert_eq!(
                value[key].as_str(),
                want.as_deref(),
                "seed {seed}, case {i}: {key}"
            );
        }
    }

    // Real bash: each postPatch run with its commands recorded, NUL-separated.
    let log = work.path().join("log");
    let mut script = format!(
        "record() {{ printf '%s\\0' \"$@\" >> {log:?}; printf '\\1\\0' >> {log:?}; }}\n\
         record_python() {{ record python \"$@\"; }}\n\
         mv() {{ record mv \"$@\"; }}\n\
         rm() {{ record rm \"$@\"; }}\n"
    );
    for (i, value) in values.iter().enumerate() {
        let file = work.path().join(format!("p{i}.sh"));
        std::fs::write(&file, value["postPatch"].as_str().unwrap()).unwrap();
        let _ = writeln!(script, "source {file:?}");
    }
    std::fs::write(work.path().join("all.sh"), script).unwrap();
    let run = Command::new("bash")
        .args(["-e", "all.sh"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "seed {seed}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let bytes = std::fs::read(&log).unwrap();
    let mut calls: Vec<Vec<String>> = Vec::new();
    let mut current = Vec::new();
    for word in bytes.split(|b| *b == 0) {
        if word == b"\x01" {
            calls.push(std::mem::take(&mut current));
        } else {
            current.push(String::from_utf8(word.to_vec()).unwrap());
        }
    }
    let want: Vec<Vec<String>> = cases.iter().flat_map(expected).collect();
    assert_eq!(
        calls.len(),
        want.len(),
        "seed {seed}: one record per command"
    );
    for (i, (got, want)) in calls.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "seed {seed}, case {}", i / 3);
    }
    for entry in std::fs::read_dir(work.path()).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            !name.to_string_lossy().starts_with("pwned"),
            "seed {seed}: an injected command ran"
        );
    }
}
