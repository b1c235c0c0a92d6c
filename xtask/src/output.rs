//! What reaches the terminal: compiler-style diagnostics on stderr, colour only on a terminal
//! and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// A command that did not produce its result.
#[derive(Debug)]
pub struct Failure {
    /// `error[<rule>]`: a stable identifier a user can search for.
    pub rule: String,
    pub message: String,
    /// `--> <location>`: the file, URL or entry concerned.
    pub location: Option<String>,
    pub help: Option<String>,
    /// 1: the input was read and has errors; 2: the command could not run.
    pub code: u8,
}

impl Failure {
    pub fn could_not_run(
        rule: &str,
        message: impl Into<String>,
        location: Option<String>,
        help: Option<&str>,
    ) -> Self {
        Self {
            rule: rule.to_owned(),
            message: message.into(),
            location,
            help: help.map(str::to_owned),
            code: 2,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

pub fn colour_on_stderr() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

pub fn report_failure(failure: &Failure) {
    let (red, blue, bold, reset) = if colour_on_stderr() {
        ("\x1b[1;31m", "\x1b[1;34m", "\x1b[1m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let mut text = format!(
        "{red}error[{}]{reset}{bold}: {}{reset}\n",
        failure.rule, failure.message
    );
    if let Some(location) = &failure.location {
        text.push_str(&format!("  {blue}-->{reset} {location}\n"));
    }
    if let Some(help) = &failure.help {
        text.push_str(&format!("  {blue}={reset} {bold}help{reset}: {help}\n"));
    }
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Writes the command's result on stdout.
pub fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| {
            Failure::could_not_run("io", format!("cannot write to stdout: {e}"), None, None)
        })
}

/// Findings as compiler-style text: `severity[rule]: message`, `--> where`, `= help: …`.
pub fn render_findings(findings: &[hacs_nix::finding::Finding], colour: bool) -> String {
    use hacs_nix::finding::Severity;
    let paint = |code: &'static str| if colour { code } else { "" };
    let (blue, bold, reset) = (paint("\x1b[1;34m"), paint("\x1b[1m"), paint("\x1b[0m"));
    let mut text = String::new();
    for f in findings {
        let tone = match f.severity {
            Severity::Error => paint("\x1b[1;31m"),
            Severity::Warning => paint("\x1b[1;33m"),
        };
        text.push_str(&format!(
            "{tone}{}[{}]{reset}{bold}: {}{reset}\n",
            f.severity, f.rule, f.message
        ));
        text.push_str(&format!("  {blue}-->{reset} {}\n", f.location));
        if !f.help.is_empty() {
            text.push_str(&format!("  {blue}={reset} {bold}help{reset}: {}\n", f.help));
        }
        text.push('\n');
    }
    text
}

/// `2 errors, 1 warning`.
pub fn summary(findings: &[hacs_nix::finding::Finding]) -> String {
    use hacs_nix::finding::Severity;
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning")
    )
}

/// Writes to stderr; a closed stderr leaves nothing sensible to do.
pub fn eprint(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}
