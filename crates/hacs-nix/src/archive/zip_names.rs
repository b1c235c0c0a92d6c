//! The name Info-ZIP `unzip` (its Unix port, as fetchzip runs it) gives a zip entry, which is
//! what the Nix hash covers. Facts measured against Debian's UnZip 6.00:
//! - an Info-ZIP Unicode Path extra field (0x7075, version 1) whose CRC-32 matches the header's
//!   name replaces the name with its UTF-8 text;
//! - otherwise names from MS-DOS/FAT hosts (unless made by version 2.5, 2.6 or 4.0 with Unix
//!   attributes), OS/2 HPFS hosts, and Info-ZIP's NTFS host 11 made by version 5.0 are converted
//!   from the OEM code page (437) to ISO 8859-1, byte by byte, with the table below (line-drawing
//!   characters become `+`, `-`, `¦`); the UTF-8 flag does not stop it;
//! - then every host: control characters, DEL and 0xFF are dropped, and a trailing `;` with
//!   digits (a VMS version) is removed from the last component.

use zip::System;

/// OEM code page 437 → ISO 8859-1, for bytes 0x80..=0xFF, as unzip converts them.
const OEM_TO_ISO: [u8; 128] = [
    0xc7, 0xfc, 0xe9, 0xe2, 0xe4, 0xe0, 0xe5, 0xe7, 0xea, 0xeb, 0xe8, 0xef, 0xee, 0xec, 0xc4, 0xc5,
    0xc9, 0xe6, 0xc6, 0xf4, 0xf6, 0xf2, 0xfb, 0xf9, 0xff, 0xd6, 0xdc, 0xf8, 0xa3, 0xd8, 0xd7, 0x83,
    0xe1, 0xed, 0xf3, 0xfa, 0xf1, 0xd1, 0xaa, 0xba, 0xbf, 0xae, 0xac, 0xbd, 0xbc, 0xa1, 0xab, 0xbb,
    0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xc1, 0xc2, 0xc0, 0xa9, 0xa6, 0xa6, 0x2b, 0x2b, 0xa2, 0xa5, 0x2b,
    0x2b, 0x2d, 0x2d, 0x2b, 0x2d, 0x2b, 0xe3, 0xc3, 0x2b, 0x2b, 0x2d, 0x2d, 0xa6, 0x2d, 0x2b, 0xa4,
    0xf0, 0xd0, 0xca, 0xcb, 0xc8, 0x69, 0xcd, 0xce, 0xcf, 0x2b, 0x2b, 0xa6, 0x5f, 0xa6, 0xcc, 0xaf,
    0xd3, 0xdf, 0xd4, 0xd2, 0xf5, 0xd5, 0xb5, 0xfe, 0xde, 0xda, 0xdb, 0xd9, 0xfd, 0xdd, 0xaf, 0xb4,
    0xad, 0xb1, 0x3d, 0xbe, 0xb6, 0xa7, 0xf7, 0xb8, 0xb0, 0xa8, 0xb7, 0xb9, 0xb3, 0xb2, 0xa6, 0xa0,
];

/// What unzip needs to know of an entry to name it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header<'a> {
    pub raw: &'a [u8],
    pub system: System,
    /// "Version made by", low byte: 10 × major + minor.
    pub made_by: u8,
    /// The upper 16 bits of the external attributes are set (Unix mode present).
    pub unix_attributes: bool,
    /// The name of a Unicode Path extra field whose CRC-32 matches the header's name.
    pub unicode_path: Option<&'a [u8]>,
}

/// The bytes unzip writes as the entry's path.
pub(super) fn unzip_name(header: &Header<'_>) -> Vec<u8> {
    let converted: Vec<u8> = match header.unicode_path {
        Some(name) => name.to_vec(),
        None if oem_host(header) => header
            .raw
            .iter()
            .map(|&b| {
                if b < 0x80 {
                    b
                } else {
                    OEM_TO_ISO[usize::from(b - 0x80)]
                }
            })
            .collect(),
        None => header.raw.to_vec(),
    };
    let mut name: Vec<u8> = converted
        .into_iter()
        .filter(|&b| b >= 0x20 && b != 0x7f && b != 0xff)
        .collect();
    strip_version(&mut name);
    name
}

/// The name of an Info-ZIP Unicode Path extra field (id 0x7075, version 1) in serialized extra
/// fields.
pub(super) fn unicode_path(mut extra: &[u8]) -> Option<&[u8]> {
    while extra.len() >= 4 {
        let id = u16::from_le_bytes([extra[0], extra[1]]);
        let len = usize::from(u16::from_le_bytes([extra[2], extra[3]]));
        let data = extra.get(4..4 + len)?;
        if id == 0x7075 && data.len() >= 5 && data[0] == 1 {
            return Some(&data[5..]);
        }
        extra = &extra[4 + len..];
    }
    None
}

fn oem_host(header: &Header<'_>) -> bool {
    let made_by = header.made_by;
    // Info-ZIP's host 11 is NTFS; the zip crate names it `MVS`, after APPNOTE.
    match header.system {
        System::Dos => !(header.unix_attributes && matches!(made_by, 25 | 26 | 40)),
        System::Os2 => true,
        System::MVS => made_by == 50,
        _ => false,
    }
}

/// `name;12` → `name`, in the last component of a file's path.
fn strip_version(name: &mut Vec<u8>) {
    if name.ends_with(b"/") {
        return;
    }
    let start = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    if let Some(semi) = name[start..].iter().rposition(|&b| b == b';')
        && name[start + semi + 1..].iter().all(u8::is_ascii_digit)
    {
        name.truncate(start + semi);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &[u8], system: System) -> Header<'_> {
        Header {
            raw,
            system,
            made_by: 20,
            unix_attributes: false,
            unicode_path: None,
        }
    }

    #[test]
    fn names_as_unzip_writes_them() {
        assert_eq!(
            unzip_name(&header(b"caf\x82.txt", System::Dos)),
            b"caf\xe9.txt"
        );
        assert_eq!(unzip_name(&header(b"unix\x82", System::Unix)), b"unix\x82");
        assert_eq!(
            unzip_name(&header(b"a\x01b\x7fc\xff", System::Unix)),
            b"abc"
        );
        assert_eq!(
            unzip_name(&header(b"dir/semi;12", System::Unix)),
            b"dir/semi"
        );
        assert_eq!(unzip_name(&header(b"mid;dle", System::Unix)), b"mid;dle");
        let with_path = Header {
            unicode_path: Some("naïve".as_bytes()),
            ..header(b"na\x8bve", System::Dos)
        };
        assert_eq!(unzip_name(&with_path), "naïve".as_bytes());
        let stale = header(b"na\x8bve", System::Dos);
        assert_eq!(unzip_name(&stale), b"na\xefve");
    }
}
