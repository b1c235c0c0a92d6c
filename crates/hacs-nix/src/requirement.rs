//! Requirement strings from manifests, read as `packaging` reads them: nixpkgs' manifest check
//! and Home Assistant both use it, so its verdicts are the ones that matter.
//!
//! Containment follows the `packaging` release of the Home Assistant set being checked against:
//! before 26.0 a pre-release only satisfies a specifier set that names a pre-release, and a
//! version that is not PEP 440 raises (the check crashes); from 26.0 pre-releases satisfy like
//! any version and an unparsable version simply does not. Both are proven against the real
//! releases in `tests/requirement_oracle.rs`.

use std::str::FromStr;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder, VersionOrUrl};
use serde::Serialize;

/// A parsed requirement.
#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    pub raw: String,
    /// The name as the manifest spells it: `ignoreVersionRequirement` must match it exactly.
    pub name: String,
    /// PEP 503 normalised (lower case, runs of `-_.` as `-`): how packages are looked up.
    pub normalized: String,
    /// The specifier set; empty when unpinned and for URL requirements (packaging still
    /// evaluates the empty set, which matters when the installed version is not PEP 440).
    #[serde(serialize_with = "display_opt")]
    pub specifiers: Option<VersionSpecifiers>,
    pub url: Option<String>,
    pub extras: Vec<String>,
    /// The environment marker, as written after `;`.
    pub marker: Option<String>,
    /// Operands of `===` clauses that are not versions (compared as strings).
    pub arbitrary: Vec<String>,
    #[serde(skip)]
    marker_tree: pep508_rs::MarkerTree,
}

fn display_opt<S: serde::Serializer>(
    v: &Option<VersionSpecifiers>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

/// A requirement `packaging` cannot parse. nixpkgs' check skips it ("could not be parsed");
/// Home Assistant logs it as invalid and never considers it satisfied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unparsable {
    pub raw: String,
    pub reason: String,
    /// A package name recoverable from the text (`#egg=name`, or the leading name).
    pub name_hint: Option<String>,
}

/// How `packaging` treats pre-releases and non-PEP 440 versions.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Semantics {
    /// packaging before 26.0.
    Packaging25,
    /// packaging 26.0 and later.
    Packaging26,
}

impl Semantics {
    /// The semantics of a `packaging` release, given its version (newest when unknown).
    pub fn of_packaging(version: Option<&str>) -> Self {
        let major = version
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        match major {
            Some(m) if m < 26 => Self::Packaging25,
            _ => Self::Packaging26,
        }
    }
}

/// The outcome of `version in specifier_set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Containment {
    Satisfied,
    NotSatisfied,
    /// The version is not PEP 440 and this `packaging` raises on it: the check crashes.
    Raises,
}

/// PEP 503 normalisation.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Parses one requirement string.
pub fn parse(raw: &str) -> Result<Requirement, Unparsable> {
    let text = raw.trim();
    let unparsable = |reason: String| Unparsable {
        raw: raw.to_owned(),
        reason,
        name_hint: name_hint(text),
    };
    // A bare URL has no name; packaging refuses it (pep508_rs's extensions would accept some).
    if text.contains("://") && !text.contains('@') {
        return Err(unparsable(
            "a bare URL has no package name (write `name@git+https://…`)".to_owned(),
        ));
    }
    let (strict, arbitrary) = lenient(text);
    let parsed =
        pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(&strict).map_err(|e| {
            let message = e.to_string();
            unparsable(
                message
                    .lines()
                    .next()
                    .unwrap_or("invalid requirement")
                    .to_owned(),
            )
        })?;
    let name = spelled_name(text).unwrap_or_else(|| parsed.name.to_string());
    let (specifiers, url) = match &parsed.version_or_url {
        None => (Some(VersionSpecifiers::empty()), None),
        Some(VersionOrUrl::VersionSpecifier(s)) => (Some(s.clone()), None),
        Some(VersionOrUrl::Url(u)) => (Some(VersionSpecifiers::empty()), Some(u.to_string())),
    };
    let marker = parsed.marker.contents().map(|m| m.to_string());
    Ok(Requirement {
        raw: raw.to_owned(),
        normalized: normalize(&name),
        name,
        specifiers,
        url,
        extras: parsed.extras.iter().map(ToString::to_string).collect(),
        marker,
        arbitrary,
        marker_tree: parsed.marker.clone(),
    })
}

/// What packaging accepts and pep508_rs does not: a trailing comma in the specifier list, and
/// `===` with any string (not only a version). Returns the text pep508_rs can parse and the
/// `===` operands taken out of it.
fn lenient(text: &str) -> (String, Vec<String>) {
    let (head, marker) = match text.split_once(';') {
        Some((head, marker)) => (head, Some(marker)),
        None => (text, None),
    };
    if head.contains('@') {
        return (text.to_owned(), Vec::new());
    }
    let mut arbitrary = Vec::new();
    let clauses: Vec<String> = head
        .split(',')
        .map(str::trim)
        .enumerate()
        .filter_map(|(i, clause)| {
            // The first clause carries the name (and extras) before its specifier.
            let (prefix, spec) = match (i, clause.find("===")) {
                (_, Some(at)) => (&clause[..at], &clause[at + 3..]),
                _ => return (!clause.is_empty()).then(|| clause.to_owned()),
            };
            arbitrary.push(spec.trim().to_owned());
            (!prefix.trim().is_empty()).then(|| prefix.trim().to_owned())
        })
        .collect();
    let mut strict = clauses.join(",");
    if let Some(marker) = marker {
        strict.push(';');
        strict.push_str(marker);
    }
    (strict, arbitrary)
}

/// The leading name as written: `[A-Za-z0-9._-]+`.
fn spelled_name(text: &str) -> Option<String> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_owned())
}

fn name_hint(text: &str) -> Option<String> {
    if let Some((_, fragment)) = text.split_once('#') {
        for part in fragment.split('&') {
            if let Some(egg) = part.strip_prefix("egg=") {
                let egg = egg.split(['=', '<', '>', '!', '~']).next().unwrap_or(egg);
                return (!egg.is_empty()).then(|| egg.to_owned());
            }
        }
    }
    if text.contains("://") && !text.contains('@') {
        return None;
    }
    spelled_name(text)
}

impl Requirement {
    /// Whether the environment marker holds for Home Assistant's Python (`3.14`, `3.14.0`) on
    /// Linux. Without a marker: true.
    pub fn marker_holds(
        &self,
        python_version: &str,
        python_full_version: &str,
        machine: &str,
    ) -> bool {
        self.marker_holds_with_extras(python_version, python_full_version, machine, &[])
    }

    /// The marker on Linux with this Python and machine, with `extras` asked for (a
    /// requirement under `extra == "x"` holds only when `x` is asked for).
    pub fn marker_holds_with_extras(
        &self,
        python_version: &str,
        python_full_version: &str,
        machine: &str,
        extras: &[String],
    ) -> bool {
        if self.marker.is_none() {
            return true;
        }
        let builder = MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: python_full_version,
            os_name: "posix",
            platform_machine: machine,
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version,
            python_version,
            sys_platform: "linux",
        };
        let extras: Vec<pep508_rs::ExtraName> = extras
            .iter()
            .filter_map(|e| pep508_rs::ExtraName::from_str(e).ok())
            .collect();
        match MarkerEnvironment::try_from(builder) {
            Ok(env) => self.marker_tree.evaluate(&env, &extras),
            // An unreadable Python version: assume the requirement is needed.
            Err(_) => true,
        }
    }

    /// `version in requirement.specifier`, as the given `packaging` computes it.
    pub fn admits(&self, version: &str, semantics: Semantics) -> Containment {
        if !self
            .arbitrary
            .iter()
            .all(|a| a.eq_ignore_ascii_case(version.trim()))
        {
            return Containment::NotSatisfied;
        }
        match &self.specifiers {
            None => Containment::Satisfied,
            Some(specifiers) => contains(specifiers, version, semantics),
        }
    }
}

/// `version in SpecifierSet(specifiers)` under the given semantics.
pub fn contains(
    specifiers: &VersionSpecifiers,
    version: &str,
    semantics: Semantics,
) -> Containment {
    let text = version.trim();
    let parsed = Version::from_str(text).ok();
    let arbitrary = specifiers
        .iter()
        .any(|s| *s.operator() == Operator::ExactEqual);
    let Some(parsed) = parsed else {
        return match semantics {
            // An empty set holds anything, even a string that is not a version.
            Semantics::Packaging26 if specifiers.is_empty() => Containment::Satisfied,
            Semantics::Packaging25 => Containment::Raises,
            // Only `===` can match a string that is not a version.
            Semantics::Packaging26
                if arbitrary && specifiers.iter().all(|s| exact_equal(s, text)) =>
            {
                Containment::Satisfied
            }
            Semantics::Packaging26 => Containment::NotSatisfied,
        };
    };
    if semantics == Semantics::Packaging25
        && parsed.any_prerelease()
        && !names_prerelease(specifiers)
    {
        return Containment::NotSatisfied;
    }
    // `===` compares strings: packaging 26 the text as given, earlier releases its normal form.
    let compared = match semantics {
        Semantics::Packaging25 => parsed.to_string(),
        Semantics::Packaging26 => text.to_owned(),
    };
    let all = specifiers.iter().all(|s| match s.operator() {
        Operator::ExactEqual => exact_equal(s, &compared),
        Operator::LessThan => less_than(&parsed, s.version(), semantics),
        _ => s.contains(&parsed),
    });
    if all {
        Containment::Satisfied
    } else {
        Containment::NotSatisfied
    }
}

/// `<V` never admits a pre-release of V's own release when V is a final release: `<1.0` does
/// not admit `1.0b1`, `<1.0rc1` does. packaging before 26 applies this to post-releases too
/// (`<1.0.post1` excludes `1.0b1`); 26 does not.
fn less_than(version: &Version, bound: &Version, semantics: Semantics) -> bool {
    if version >= bound {
        return false;
    }
    let base = |v: &Version| Version::new(v.release().iter().copied()).with_epoch(v.epoch());
    let final_bound =
        !bound.any_prerelease() && (semantics == Semantics::Packaging25 || !bound.is_post());
    !(final_bound && version.any_prerelease() && base(version) == base(bound))
}

/// `===` compares the strings themselves, ignoring case.
fn exact_equal(spec: &VersionSpecifier, text: &str) -> bool {
    spec.to_string()
        .trim_start_matches("===")
        .trim()
        .eq_ignore_ascii_case(text)
}

/// packaging before 26: a specifier set admits pre-releases when one of its specifiers, other
/// than `!=`, names a pre-release.
fn names_prerelease(specifiers: &VersionSpecifiers) -> bool {
    specifiers.iter().any(|s| {
        !matches!(s.operator(), Operator::NotEqual | Operator::NotEqualStar)
            && s.version().any_prerelease()
    })
}

impl std::fmt::Display for Semantics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Packaging25 => "packaging before 26: pre-releases only when named, non-PEP 440 versions crash the check",
            Self::Packaging26 => "packaging 26+: pre-releases admitted, non-PEP 440 versions never satisfy",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_spelled_and_normalised() {
        let r = parse("pyhOn==0.14.11").unwrap();
        assert_eq!((r.name.as_str(), r.normalized.as_str()), ("pyhOn", "pyhon"));
        assert_eq!(normalize("Foo__Bar.-baz"), "foo-bar-baz");
        let r = parse("midea-lan@git+https://github.com/x/midea-lan.git@abc").unwrap();
        assert_eq!(r.name, "midea-lan");
        assert!(r.url.is_some() && r.specifiers.as_ref().is_some_and(|s| s.is_empty()));
        let e = parse("git+https://github.com/x/y.git#egg=y").unwrap_err();
        assert_eq!(e.name_hint.as_deref(), Some("y"));
        let e = parse("aiogithubapi>=2.0.0<3.0.0").unwrap_err();
        assert_eq!(e.name_hint.as_deref(), Some("aiogithubapi"));
    }
}
