//! `hacs.json`: the HACS repository settings that decide what HACS installs.

use serde::Serialize;
use serde_json::Value;

use super::{Checked, json, kind, object_document, version};
use crate::finding::{Finding, Location};

/// The settings that change what is installed and from where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HacsJson {
    pub name: Option<String>,
    pub content_in_root: bool,
    pub zip_release: bool,
    pub filename: Option<String>,
    /// Minimum Home Assistant version (AwesomeVersion text; a `b0` suffix admits betas).
    pub homeassistant: Option<String>,
    /// Minimum HACS version.
    pub hacs: Option<String>,
    pub persistent_directory: Option<String>,
}

const KNOWN_KEYS: &[&str] = &[
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
];
const REMOVED_KEYS: &[&str] = &["domains", "iot_class"];

/// ISO 3166-1 alpha-2 codes, which `country` must use.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ \
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET \
FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS \
IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP \
MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Checks the bytes of a `hacs.json`; `file` names it in findings.
pub fn check_hacs_json(file: &str, bytes: &[u8]) -> Checked<HacsJson> {
    let (doc, object) = match object_document(
        file,
        bytes,
        "hacs-json-not-object",
        "hacs.json",
        "hacs.json is an object such as {\"name\": \"My integration\"}",
    ) {
        Ok(parsed) => parsed,
        Err(findings) => {
            return Checked {
                value: None,
                findings,
            };
        }
    };
    let mut findings = Vec::new();
    let warn = |findings: &mut Vec<Finding>, rule, at: Location, message: String, help: &str| {
        findings.push(Finding::warning(rule, at, message, help));
    };
    let type_warning = |findings: &mut Vec<Finding>, key: &str, value: &Value, expected: &str| {
        findings.push(Finding::warning(
            "hacs-key-type",
            doc.at(key),
            format!("`{key}` is a {}, not {expected}", kind(value)),
            "the HACS action rejects it; fix the type",
        ));
    };
    let string = |findings: &mut Vec<Finding>, key: &str| match object.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            type_warning(findings, key, other, "a string");
            None
        }
        None => None,
    };
    let boolean = |findings: &mut Vec<Finding>, key: &str| match object.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            type_warning(findings, key, other, "true or false");
            false
        }
        None => false,
    };

    let name = string(&mut findings, "name");
    if !object.contains_key("name") {
        warn(
            &mut findings,
            "hacs-name-missing",
            doc.at(""),
            "hacs.json has no `name`".to_owned(),
            "the HACS action requires a display name",
        );
    }
    let content_in_root = boolean(&mut findings, "content_in_root");
    let zip_release = boolean(&mut findings, "zip_release");
    boolean(&mut findings, "hide_default_branch");
    boolean(&mut findings, "render_readme");
    let filename = string(&mut findings, "filename");
    let persistent_directory = string(&mut findings, "persistent_directory");
    if zip_release {
        match &filename {
            None => findings.push(Finding::error(
                "hacs-zip-release-filename",
                doc.at("zip_release"),
                "`zip_release` is true but no `filename` names the release asset".to_owned(),
                "add \"filename\": \"<asset>.zip\"; without it HACS cannot tell which asset to install",
            )),
            Some(f) if !f.ends_with(".zip") => findings.push(Finding::error(
                "hacs-zip-release-filename",
                doc.at("filename"),
                format!("`zip_release` needs a `.zip` asset, but `filename` is `{f}`"),
                "name the zip asset HACS should install",
            )),
            Some(_) => {}
        }
    } else if filename.is_some() {
        warn(
            &mut findings,
            "hacs-filename-without-zip-release",
            doc.at("filename"),
            "`filename` is set but `zip_release` is not: HACS ignores it and installs the source archive".to_owned(),
            "add \"zip_release\": true if the release asset is what should be installed",
        );
    }
    let mut versions = Vec::new();
    for key in ["homeassistant", "hacs"] {
        let value = string(&mut findings, key);
        if let Some(v) = &value
            && version::classify(v.trim()).is_none()
        {
            warn(
                &mut findings,
                "hacs-minimum-version-invalid",
                doc.at(key),
                format!("`{key}` is `{v}`, not a version"),
                "write a minimum version such as \"2025.3.0\"",
            );
        }
        versions.push(value);
    }
    check_countries(&doc, object.get("country"), &mut findings);
    for key in object.keys() {
        if REMOVED_KEYS.contains(&key.as_str()) {
            warn(
                &mut findings,
                "hacs-removed-key",
                doc.at(key),
                format!("`{key}` was removed from hacs.json and now fails the HACS action"),
                "remove it (the manifest carries this information)",
            );
        } else if !KNOWN_KEYS.contains(&key.as_str()) {
            warn(
                &mut findings,
                "hacs-unknown-key",
                doc.at(key),
                format!("`{key}` is not a hacs.json key"),
                &format!("known keys: {}", KNOWN_KEYS.join(", ")),
            );
        }
    }
    let mut versions = versions.into_iter();
    let value = HacsJson {
        name,
        content_in_root,
        zip_release,
        filename,
        homeassistant: versions.next().flatten(),
        hacs: versions.next().flatten(),
        persistent_directory,
    };
    Checked {
        value: Some(value),
        findings,
    }
}

fn check_countries(doc: &json::Document, value: Option<&Value>, findings: &mut Vec<Finding>) {
    let codes: Vec<(String, &Value)> = match value {
        None => return,
        Some(Value::String(_)) => vec![("country".to_owned(), value.unwrap_or(&Value::Null))],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("country[{i}]"), v))
            .collect(),
        Some(other) => {
            findings.push(Finding::warning(
                "hacs-key-type",
                doc.at("country"),
                format!(
                    "`country` is a {}, not a code or a list of codes",
                    kind(other)
                ),
                "write \"country\": \"NL\" or [\"NL\", \"BE\"]",
            ));
            return;
        }
    };
    for (path, code) in codes {
        let ok = code
            .as_str()
            .is_some_and(|c| c.len() == 2 && COUNTRIES.split(' ').any(|known| known == c));
        if !ok {
            findings.push(Finding::warning(
                "hacs-country-invalid",
                doc.at(&path),
                format!("{code} is not an ISO 3166-1 alpha-2 country code"),
                "use upper-case two-letter codes such as \"NL\"",
            ));
        }
    }
}
