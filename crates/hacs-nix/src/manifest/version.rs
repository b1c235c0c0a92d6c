//! Whether Home Assistant's loader accepts a custom integration's `version`.
//!
//! The loader builds `AwesomeVersion(value)` (so: `str()` of the JSON value, surrounding white
//! space stripped, one trailing `.` dropped) and requires that AwesomeVersion classifies it as
//! CalVer, SemVer, SimpleVer, BuildVer or PEP 440; anything else (HexVer, "latest", unknown)
//! blocks the integration from loading. Classification ignores a leading `v` or `V`, and a
//! string of digits is BuildVer straight away. The grammars below are those strategies';
//! `tests/version_oracle.rs` proves the verdicts equal to the real `awesomeversion` package.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// One of the strategies Home Assistant accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    CalVer,
    SemVer,
    SimpleVer,
    BuildVer,
    Pep440,
}

/// `0` or a number without leading zeros.
const NUMBER: &str = r"(?:0|[1-9]\d*)";
const PEP440_NUMBER: &str = "(?:0|[1-9][0-9]*)";

fn full(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)] // constant patterns, exercised by every test of this module
    Regex::new(&format!(r"\A(?:{pattern})\z")).expect("a valid constant pattern")
}

static GRAMMARS: LazyLock<Vec<(Strategy, Regex)>> = LazyLock::new(|| {
    // SemVer 2.0: a pre-release identifier is a number without leading zeros or an
    // alphanumeric word containing a letter or hyphen.
    let identifier = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)";
    let semver = format!(
        r"{NUMBER}\.{NUMBER}\.{NUMBER}(?:-{identifier}(?:\.{identifier})*)?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
    );
    // CalVer as AwesomeVersion spells it: a 2- or 4-digit year, a 1-2 digit part, an optional
    // part with optional dots around it, an optional `.N`, then digits and an optional word
    // ending in digits.
    let calver = r"(?:\d{2}|\d{4})\.\d{1,2}(?:\.?\d{1,2}\.?)?(?:\.\d)?\d*(?:\w+\d+)?";
    let pep440 = format!(
        "(?:[1-9][0-9]*!)?{PEP440_NUMBER}(?:\\.{PEP440_NUMBER})*\
         (?:[-_.]?(?:alpha|beta|c|pre|preview|a|b|rc){PEP440_NUMBER})?\
         (?:[-_.]?(?:post|r|rev){PEP440_NUMBER})?\
         (?:[-_.]?(?:d|dev){PEP440_NUMBER})?\
         (?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?"
    );
    vec![
        (Strategy::CalVer, full(calver)),
        (Strategy::SemVer, full(&semver)),
        (Strategy::SimpleVer, full(r"[vV]?\d+(?:\.\d+)+")),
        (Strategy::BuildVer, full(r"\d+")),
        (Strategy::Pep440, full(&pep440)),
    ]
});

/// What the loader makes of a `version` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The text AwesomeVersion sees (`str()` of the value, stripped).
    pub text: String,
    /// The accepted strategy, or `None` when the loader blocks the integration.
    pub strategy: Option<Strategy>,
}

/// The loader's verdict on a manifest's `version` value (present in the manifest).
pub fn verdict(value: &Value) -> Verdict {
    let Some(raw) = python_str(value) else {
        return Verdict {
            text: value.to_string(),
            strategy: None,
        };
    };
    let stripped = raw.trim_matches(python_space);
    let text = stripped.strip_suffix('.').unwrap_or(stripped).to_owned();
    let strategy = classify(&text);
    Verdict { text, strategy }
}

/// Classifies an already-normalised version string.
pub fn classify(text: &str) -> Option<Strategy> {
    // AwesomeVersion's prefixes are tried as `v`, `V`, `v.`, `V.`: the one-letter ones always win.
    let bare = text.strip_prefix(['v', 'V']).unwrap_or(text);
    if !bare.is_empty() && bare.chars().all(is_decimal_digit) {
        return Some(Strategy::BuildVer);
    }
    GRAMMARS
        .iter()
        .find(|(_, grammar)| grammar.is_match(bare))
        .map(|(strategy, _)| *strategy)
}

/// Python's `str()` of a JSON value, where it can matter: arrays, objects, `null` and booleans
/// (`[…]`, `{…}`, `None`, `True`) never classify, so they give `None`.
fn python_str(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Number(n) => {
            let f = n.as_f64()?;
            // Python switches to exponent notation (`1e-05`, `1e+16`), which never classifies.
            if !f.is_finite() || f.abs() >= 1e16 || (f != 0.0 && f.abs() < 1e-4) {
                return None;
            }
            let text = f.to_string();
            Some(if text.contains('.') {
                text
            } else {
                format!("{text}.0")
            })
        }
        _ => None,
    }
}

/// Python's `str.isspace()`: Unicode white space plus the ASCII separators 0x1C–0x1F.
fn python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.isdigit()` for the characters that matter here: Unicode decimal digits (the
/// `\d` of the grammars). Python also counts superscripts such as `²`; a version made of those
/// is not worth the table.
fn is_decimal_digit(c: char) -> bool {
    static DIGIT: LazyLock<Regex> = LazyLock::new(|| full(r"\d"));
    let mut buf = [0u8; 4];
    c.is_ascii_digit() || (!c.is_ascii() && DIGIT.is_match(c.encode_utf8(&mut buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(v: Value) -> bool {
        verdict(&v).strategy.is_some()
    }

    #[test]
    fn home_assistants_documented_examples() {
        for ok in [
            "0.5",
            "1",
            "0.0.0",
            "v1.25.0",
            "5.0.0-beta.2",
            "3.2.4.2",
            "1.0.0b1",
            "2026.8.0+c3galmet1",
            "20230604.1",
        ] {
            assert!(accepted(Value::from(ok)), "{ok} should be accepted");
        }
        for bad in ["", "main", "%%%VERSION%%%"] {
            assert!(!accepted(Value::from(bad)), "{bad} should be rejected");
        }
        assert!(!accepted(Value::Null));
        assert!(accepted(Value::from(2)));
        assert!(accepted(Value::from(1.5)));
        assert!(!accepted(Value::from(true)));
    }
}
