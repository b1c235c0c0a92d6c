//! Strict JSON as Home Assistant reads it (UTF-8, no BOM, RFC 8259 via orjson), with the real
//! failure shapes told apart, and the position of every key for findings.
//!
//! serde_json gives the verdict (it is as strict as orjson); a small scanner over the accepted
//! text then records where each key path starts. A second full parser would only add a second
//! opinion on what is valid.

use std::collections::HashMap;

use serde_json::Value;

use crate::finding::{Finding, Location, line_column};

/// Files larger than this are not manifests.
pub const MAX_JSON_BYTES: usize = 1 << 20;

/// A parsed document with the line and column (1-based) of every key path.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    positions: HashMap<String, (usize, usize)>,
    file: String,
}

impl Document {
    /// A location for a key path such as `requirements[1]`; a path that is not in the file
    /// (a missing key) points at its nearest parent that is.
    pub fn at(&self, path: &str) -> Location {
        let mut probe = path;
        let (line, column) = loop {
            if let Some(&position) = self.positions.get(probe) {
                break position;
            }
            match probe.rfind(['.', '[']) {
                Some(cut) => probe = &probe[..cut],
                None => break self.positions.get("").copied().unwrap_or((1, 1)),
            }
        };
        Location {
            file: self.file.clone(),
            line: Some(line),
            column: Some(column),
            key: (!path.is_empty()).then(|| path.to_owned()),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }
}

/// Parses `bytes` as the file `file`; on failure returns the one finding that explains why.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Document, Box<Finding>> {
    parse_inner(file, bytes).map_err(Box::new)
}

#[allow(clippy::result_large_err)] // boxed once, by `parse`
fn parse_inner(file: &str, bytes: &[u8]) -> Result<Document, Finding> {
    let at = |line, column| Location {
        file: file.to_owned(),
        line: Some(line),
        column: Some(column),
        key: None,
    };
    if bytes.len() > MAX_JSON_BYTES {
        return Err(Finding::error(
            "json-too-large",
            Location::file(file),
            format!("{} bytes is far too large for this file", bytes.len()),
            "this is not the file it should be; check the release contents",
        ));
    }
    if bytes.starts_with(b"\xef\xbb\xbf") {
        return Err(Finding::error(
            "json-bom",
            at(1, 1),
            "the file starts with a UTF-8 byte order mark, which Home Assistant's JSON reader rejects",
            "save the file as UTF-8 without BOM",
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(&bytes[..e.valid_up_to()]);
            return Err(Finding::error(
                "json-not-utf8",
                at(line, column),
                "the file is not valid UTF-8",
                "save the file as UTF-8",
            ));
        }
    };
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Finding::error(
            "json-empty",
            Location::file(file),
            "the file is empty",
            "the file must hold a JSON object",
        ));
    }
    if trimmed.starts_with('<') {
        return Err(Finding::error(
            "json-html",
            at(1, 1 + text.len() - trimmed.len()),
            "the file is an HTML or XML document, not JSON",
            "an error page was saved in place of the file; fetch the real one",
        ));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut positions = HashMap::new();
            Scanner {
                text: text.as_bytes(),
                pos: 0,
                positions: &mut positions,
            }
            .document();
            Ok(Document {
                value,
                positions,
                file: file.to_owned(),
            })
        }
        Err(e) => Err(syntax_finding(file, text, &e)),
    }
}

fn syntax_finding(file: &str, text: &str, error: &serde_json::Error) -> Finding {
    let (line, column) = (error.line(), error.column());
    let location = Location {
        file: file.to_owned(),
        line: Some(line),
        column: Some(column),
        key: None,
    };
    let message = error.to_string();
    // The character serde_json stopped at, to tell an unquoted word from other garbage.
    let offending = text.lines().nth(line.saturating_sub(1)).and_then(|l| {
        let index = column.saturating_sub(1);
        l.get(index..).and_then(|rest| rest.chars().next())
    });
    let (rule, what, help) = if offending == Some('/') || offending == Some('#') {
        ("json-comment", "JSON has no comments", "remove the comment")
    } else if offending == Some('\'') {
        (
            "json-single-quotes",
            "strings must be in double quotes",
            "replace the single quotes with double quotes",
        )
    } else if offending == Some(',')
        && (message.contains("key must be a string") || message.contains("expected value"))
    {
        (
            "json-extra-comma",
            "two commas in a row",
            "remove one of the commas",
        )
    } else if message.contains("trailing comma") {
        (
            "json-trailing-comma",
            "a comma before the closing bracket (trailing comma)",
            "remove the comma after the last item",
        )
    } else if message.contains("expected `,` or `}`") || message.contains("expected `,` or `]`") {
        (
            "json-missing-comma",
            "a comma is missing between two items",
            "add a `,` after the previous item",
        )
    } else if message.contains("key must be a string") {
        (
            "json-unquoted-key",
            "an object key is not in double quotes",
            "write keys as \"key\"",
        )
    } else if message.contains("EOF while parsing") {
        (
            "json-truncated",
            "the file ends in the middle of the document",
            "the file is cut short; restore the closing brackets",
        )
    } else if offending.is_some_and(|c| c.is_alphabetic() || c == '_') {
        (
            "json-unquoted-value",
            "a text value is not in double quotes",
            "put the value in double quotes",
        )
    } else if message.contains("trailing characters") {
        (
            "json-trailing-characters",
            "there is more after the end of the document",
            "remove what follows the closing `}`",
        )
    } else {
        (
            "json-syntax",
            "the file is not valid JSON",
            "fix the JSON syntax at this position",
        )
    };
    Finding::error(rule, location, format!("{what} ({message})"), help)
}

/// Records where each key path starts in text already known to be valid JSON.
struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    positions: &'a mut HashMap<String, (usize, usize)>,
}

impl Scanner<'_> {
    fn document(&mut self) {
        self.skip_ws();
        self.mark("");
        self.value(String::new(), 0);
    }

    fn mark(&mut self, path: &str) {
        let position = line_column(&self.text[..self.pos.min(self.text.len())]);
        self.positions.entry(path.to_owned()).or_insert(position);
    }

    fn skip_ws(&mut self) {
        while self.pos < self.text.len()
            && matches!(self.text[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn value(&mut self, path: String, depth: usize) {
        // serde_json stops at 128 levels; so does this.
        if depth > 128 {
            return;
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b'}') | None => break,
                        Some(b',') => {
                            self.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let key_start = self.pos;
                    let key = self.string();
                    let child = if path.is_empty() {
                        key
                    } else {
                        format!("{path}.{key}")
                    };
                    let saved = self.pos;
                    self.pos = key_start;
                    self.mark(&child);
                    self.pos = saved;
                    self.skip_ws();
                    self.pos += 1; // ':'
                    self.skip_ws();
                    self.value(child, depth + 1);
                }
                self.pos += 1;
            }
            Some(b'[') => {
                self.pos += 1;
                let mut index = 0;
                loop {
                    self.skip_ws();
                    match self.peek() {
                        Some(b']') | None => break,
                        Some(b',') => {
                            self.pos += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let child = format!("{path}[{index}]");
                    self.mark(&child);
                    self.value(child, depth + 1);
                    index += 1;
                }
                self.pos += 1;
            }
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while self.pos < self.text.len()
                    && !matches!(
                        self.text[self.pos],
                        b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.pos += 1;
                }
            }
            None => {}
        }
    }

    /// A string token; returns its decoded text (keys are looked up decoded).
    fn string(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' => self.pos += 1,
                b'"' => break,
                _ => {}
            }
        }
        let raw = &self.text[start..self.pos.min(self.text.len())];
        serde_json::from_slice::<String>(raw).unwrap_or_default()
    }
}
