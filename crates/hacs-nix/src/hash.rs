//! SHA-256 digests and the three encodings Nix prints and accepts.

use std::fmt;
use std::sync::LazyLock;

use data_encoding::{BASE64, Encoding, HEXLOWER_PERMISSIVE};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The alphabet of Nix's base32 (no `e`, `o`, `u`, `t`).
const NIX32_SYMBOLS: &str = "0123456789abcdfghijklmnpqrsvwxyz";

/// Nix base32 reads the digest as a little-endian bit stream and prints the last group first, so
/// it is an LSB-first base32 whose output is reversed.
static NIX32: LazyLock<Encoding> = LazyLock::new(|| {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str(NIX32_SYMBOLS);
    spec.bit_order = data_encoding::BitOrder::LeastSignificantFirst;
    spec.check_trailing_bits = true;
    #[allow(clippy::expect_used)] // a constant specification: covered by the tests below
    spec.encoding()
        .expect("the Nix base32 specification is valid")
});

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

/// The ways a hash can be written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFormat {
    /// `sha256-<base64>`, what nixpkgs writes today.
    Sri,
    /// 52 characters of Nix base32, as `nix-hash --base32` and `nix-prefetch-url` print.
    Nix32,
    /// 64 lowercase hex digits, as `nix-hash --type sha256` prints.
    Hex,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HashParseError {
    #[error(
        "`{0}` is not a SHA-256 hash: expected `sha256-<base64>`, 52 Nix base32 or 64 hex characters"
    )]
    Unrecognised(String),
    #[error("`{0}` names the algorithm `{1}`; only sha256 is supported")]
    Algorithm(String, String),
}

impl Sha256Digest {
    /// The digest of a byte string.
    pub fn of(bytes: &[u8]) -> Self {
        Self::from_hasher(Sha256::new_with_prefix(bytes))
    }

    pub(crate) fn from_hasher(hasher: Sha256) -> Self {
        Self(hasher.finalize().into())
    }

    pub fn to_sri(&self) -> String {
        format!("sha256-{}", BASE64.encode(&self.0))
    }

    pub fn to_nix32(&self) -> String {
        NIX32.encode(&self.0).chars().rev().collect()
    }

    pub fn to_hex(&self) -> String {
        HEXLOWER_PERMISSIVE.encode(&self.0)
    }

    pub fn format(&self, format: HashFormat) -> String {
        match format {
            HashFormat::Sri => self.to_sri(),
            HashFormat::Nix32 => self.to_nix32(),
            HashFormat::Hex => self.to_hex(),
        }
    }

    /// Parses any spelling Nix accepts for a SHA-256: SRI, `sha256:<any>`, or a bare Nix base32,
    /// hex or base64 string (told apart by length, as Nix does).
    pub fn parse(text: &str) -> Result<Self, HashParseError> {
        let bad = || HashParseError::Unrecognised(text.to_owned());
        let trimmed = text.trim();
        if let Some(b64) = trimmed.strip_prefix("sha256-") {
            return decode_base64(b64).ok_or_else(bad);
        }
        let body = match trimmed.split_once(':') {
            Some(("sha256", rest)) => rest,
            Some((algo, _)) => {
                return Err(HashParseError::Algorithm(text.to_owned(), algo.to_owned()));
            }
            None => match trimmed.split_once('-') {
                Some((algo, _)) if ["sha1", "sha512", "md5"].contains(&algo) => {
                    return Err(HashParseError::Algorithm(text.to_owned(), algo.to_owned()));
                }
                _ => trimmed,
            },
        };
        match body.len() {
            64 => HEXLOWER_PERMISSIVE
                .decode(body.as_bytes())
                .ok()
                .and_then(|v| v.try_into().ok())
                .map(Self)
                .ok_or_else(bad),
            52 => {
                let reversed: String = body.chars().rev().collect();
                NIX32
                    .decode(reversed.as_bytes())
                    .ok()
                    .and_then(|v| v.try_into().ok())
                    .map(Self)
                    .ok_or_else(bad)
            }
            44 => decode_base64(body).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

fn decode_base64(text: &str) -> Option<Sha256Digest> {
    BASE64
        .decode(text.as_bytes())
        .ok()?
        .try_into()
        .ok()
        .map(Sha256Digest)
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_sri())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_sri())
    }
}

/// An `io::Write` that feeds SHA-256 and counts bytes: the NAR is hashed as it is produced.
#[derive(Debug, Default, Clone)]
pub struct HashingWriter {
    hasher: Sha256,
    written: u64,
}

impl HashingWriter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn finish(self) -> Sha256Digest {
        Sha256Digest::from_hasher(self.hasher)
    }
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The flat SHA-256 of a stream (what `fetchurl` pins).
pub fn flat_hash(mut reader: impl std::io::Read) -> std::io::Result<(Sha256Digest, u64)> {
    let mut writer = HashingWriter::new();
    std::io::copy(&mut reader, &mut writer)?;
    let size = writer.written();
    Ok((writer.finish(), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The HACS 2.0.5 release asset, as pinned in public configurations in both spellings.
    const HACS_ZIP_SRI: &str = "sha256-l75rgkpPOOaDcozG3XI2f2uLrQpDQosbO5h6MIet9BM=";
    const HACS_ZIP_NIX32: &str = "04zlmn3k0ylq7cdqnhj31anqnsvz6rrdvilcfa1ycf2g9a16pglp";

    #[test]
    fn sri_and_nix32_of_a_public_pin_agree() {
        let from_sri = Sha256Digest::parse(HACS_ZIP_SRI).unwrap();
        let from_nix32 = Sha256Digest::parse(HACS_ZIP_NIX32).unwrap();
        assert_eq!(from_sri, from_nix32);
        assert_eq!(from_sri.to_nix32(), HACS_ZIP_NIX32);
        assert_eq!(from_nix32.to_sri(), HACS_ZIP_SRI);
    }

    #[test]
    fn empty_string_digest_in_every_encoding() {
        let d = Sha256Digest::of(b"");
        assert_eq!(
            d.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // `nix-hash --type sha256 --to-base32 e3b0…b855`
        assert_eq!(
            d.to_nix32(),
            "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
        );
        assert_eq!(
            d.to_sri(),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        for text in [
            d.to_hex(),
            d.to_nix32(),
            d.to_sri(),
            format!("sha256:{}", d.to_nix32()),
        ] {
            assert_eq!(Sha256Digest::parse(&text).unwrap(), d, "{text}");
        }
    }

    #[test]
    fn rejects_other_algorithms_and_garbage() {
        assert!(matches!(
            Sha256Digest::parse("sha512-abc"),
            Err(HashParseError::Algorithm(..))
        ));
        assert!(matches!(
            Sha256Digest::parse("md5:abc"),
            Err(HashParseError::Algorithm(..))
        ));
        assert!(Sha256Digest::parse("").is_err());
        // 52 characters but with letters outside the alphabet.
        assert!(Sha256Digest::parse(&"e".repeat(52)).is_err());
        // The top bits of the first character must be zero: `z` would overflow 256 bits.
        assert!(Sha256Digest::parse(&format!("z{}", "0".repeat(51))).is_err());
    }
}
