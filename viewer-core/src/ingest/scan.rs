//! Structural pre-scan of a DICOM data set held in memory.
//!
//! Before the data set is handed to dicom-rs, every element header is walked and every
//! defined length is checked against the bytes actually available in its container.
//! This guarantees that no allocation derived from a length field can exceed the input
//! size, rejects garbage early with a typed error, and finds the end of the last
//! complete element (so trailing junk or a truncated trailer can be cut off).

use dicom_core::{Tag, VR};

/// Maximum sequence nesting accepted.
const MAX_DEPTH: u32 = 32;
const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Byte encoding of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    ImplicitLE,
    ExplicitLE,
    ExplicitBE,
}

impl Encoding {
    fn big(self) -> bool {
        self == Encoding::ExplicitBE
    }
    fn explicit(self) -> bool {
        self != Encoding::ImplicitLE
    }
}

/// Why a scan failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// The data ends inside an element (value or header).
    Truncated(String),
    /// Lengths or delimiters are inconsistent.
    Malformed(String),
}

/// Facts learned by scanning the top level of a data set.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScanSummary {
    /// End offset (exclusive) of the last complete top-level element.
    pub end: usize,
    /// Whether a (7FE0,0010/0008/0009) pixel data element was seen at the top level.
    pub has_pixel_data: bool,
    /// Whether the Directory Record Sequence (0004,1220) was seen at the top level.
    pub has_directory_records: bool,
    /// Number of top-level elements.
    pub elements: usize,
}

/// All two-letter VR codes.
pub(crate) fn is_vr(b: [u8; 2]) -> bool {
    VR::from_binary(b).is_some()
}

pub(crate) fn long_length_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB"
            | b"OD"
            | b"OF"
            | b"OL"
            | b"OV"
            | b"OW"
            | b"SQ"
            | b"UC"
            | b"UN"
            | b"UR"
            | b"UT"
            | b"SV"
            | b"UV"
    )
}

struct Scanner<'a> {
    buf: &'a [u8],
}

struct Header {
    tag: Tag,
    vr: Option<[u8; 2]>,
    len: u32,
    /// Offset of the value.
    value: usize,
}

impl Scanner<'_> {
    fn u16(&self, at: usize, big: bool) -> Option<u16> {
        let b = self.buf.get(at..at.checked_add(2)?)?;
        let a = [b[0], b[1]];
        Some(if big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    }
    fn u32(&self, at: usize, big: bool) -> Option<u32> {
        let b = self.buf.get(at..at.checked_add(4)?)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    /// Read an element header at `pos` (which must be < `end`).
    fn header(&self, pos: usize, end: usize, enc: Encoding) -> Result<Header, ScanError> {
        let big = enc.big();
        let trunc = || ScanError::Truncated(format!("element header at byte {pos} is cut off"));
        if pos + 8 > end {
            return Err(trunc());
        }
        let group = self.u16(pos, big).ok_or_else(trunc)?;
        let elem = self.u16(pos + 2, big).ok_or_else(trunc)?;
        let tag = Tag(group, elem);
        if group == 0xFFFE || !enc.explicit() {
            let len = self.u32(pos + 4, big).ok_or_else(trunc)?;
            return Ok(Header {
                tag,
                vr: None,
                len,
                value: pos + 8,
            });
        }
        let vr = [self.buf[pos + 4], self.buf[pos + 5]];
        if !is_vr(vr) {
            return Err(ScanError::Malformed(format!(
                "invalid value representation {:?} for element ({group:04X},{elem:04X}) at byte {pos}",
                String::from_utf8_lossy(&vr)
            )));
        }
        if long_length_vr(vr) {
            if pos + 12 > end {
                return Err(trunc());
            }
            let len = self.u32(pos + 8, big).ok_or_else(trunc)?;
            Ok(Header {
                tag,
                vr: Some(vr),
                len,
                value: pos + 12,
            })
        } else {
            let len = u32::from(self.u16(pos + 6, big).ok_or_else(trunc)?);
            Ok(Header {
                tag,
                vr: Some(vr),
                len,
                value: pos + 8,
            })
        }
    }

    fn value_end(&self, h: &Header, end: usize) -> Result<usize, ScanError> {
        let v_end = h
            .value
            .checked_add(h.len as usize)
            .ok_or_else(|| ScanError::Malformed("length overflow".into()))?;
        if v_end > end {
            return Err(ScanError::Truncated(format!(
                "element ({:04X},{:04X}) declares {} bytes but only {} remain",
                h.tag.0,
                h.tag.1,
                h.len,
                end.saturating_sub(h.value)
            )));
        }
        Ok(v_end)
    }

    /// Scan elements from `pos` to `end`. When `in_item_undefined`, stop after an item
    /// delimitation item and return the position after it.
    fn dataset(
        &self,
        mut pos: usize,
        end: usize,
        enc: Encoding,
        depth: u32,
        in_item_undefined: bool,
        top: Option<&mut ScanSummary>,
    ) -> Result<usize, ScanError> {
        let mut summary = top;
        loop {
            if pos >= end {
                if in_item_undefined {
                    return Err(ScanError::Truncated(
                        "data ends inside a sequence item".into(),
                    ));
                }
                return Ok(pos);
            }
            let h = match self.header(pos, end, enc) {
                Ok(h) => h,
                Err(e) => {
                    // At the top level, trailing bytes after the pixel data, and zero padding,
                    // are tolerated; a partial element header anywhere else means the file is cut.
                    if let (Some(s), false) = (summary.as_deref_mut(), in_item_undefined) {
                        let padding = self
                            .buf
                            .get(pos..end)
                            .is_some_and(|b| b.iter().all(|&x| x == 0));
                        if s.has_pixel_data || padding {
                            return Ok(pos);
                        }
                    }
                    return Err(e);
                }
            };
            if h.tag == Tag(0xFFFE, 0xE00D) {
                if in_item_undefined {
                    return Ok(h.value);
                }
                return Err(ScanError::Malformed(format!(
                    "unexpected item delimiter at byte {pos}"
                )));
            }
            if h.tag.0 == 0xFFFE {
                return Err(ScanError::Malformed(format!(
                    "unexpected item tag ({:04X},{:04X}) at byte {pos}",
                    h.tag.0, h.tag.1
                )));
            }
            let is_pixel = h.tag == Tag(0x7FE0, 0x0010)
                || h.tag == Tag(0x7FE0, 0x0008)
                || h.tag == Tag(0x7FE0, 0x0009);
            let next = if h.len == UNDEFINED {
                // Only (7FE0,0010) is ever encapsulated: dicom-rs reads undefined-length Float/Double
                // Float Pixel Data as a sequence, so it is scanned as one (found by fuzzing: scanned as
                // fragments, the floats became unchecked lengths for the parser).
                if h.tag == Tag(0x7FE0, 0x0010) && h.vr != Some(*b"SQ") && h.vr != Some(*b"UN") {
                    self.fragments(h.value, end)?
                } else {
                    // sequence (SQ, UN or implicit) of undefined length;
                    // an explicit UN sequence is encoded in implicit VR little endian
                    let inner = if h.vr == Some(*b"UN") {
                        Encoding::ImplicitLE
                    } else {
                        enc
                    };
                    self.items(h.value, end, inner, depth + 1, true)?
                }
            } else {
                let v_end = match self.value_end(&h, end) {
                    Ok(v) => v,
                    Err(e) => {
                        // Tolerate a truncated trailer after the pixel data at top level
                        if let Some(s) = summary.as_deref_mut() {
                            if s.has_pixel_data && !is_pixel {
                                return Ok(s.end);
                            }
                        }
                        return Err(e);
                    }
                };
                let is_sq = match h.vr {
                    Some(vr) => &vr == b"SQ",
                    None => {
                        // implicit VR: walk the value as a sequence when it starts with
                        // an item tag (whatever the dictionary says; a dictionary SQ
                        // written with another VR is left to the parser)
                        let starts_item = h.len >= 8
                            && self.u16(h.value, enc.big()) == Some(0xFFFE)
                            && self.u16(h.value + 2, enc.big()) == Some(0xE000);
                        starts_item && !is_pixel
                    }
                };
                if is_sq && h.len > 0 {
                    self.items(h.value, v_end, enc, depth + 1, false)?;
                }
                v_end
            };
            if let Some(s) = summary.as_deref_mut() {
                s.end = next;
                s.elements += 1;
                if is_pixel {
                    s.has_pixel_data = true;
                }
                if h.tag == Tag(0x0004, 0x1220) {
                    s.has_directory_records = true;
                }
            }
            pos = next;
        }
    }

    /// Scan sequence items. `undefined`: the sequence ends with a sequence delimiter
    /// (else at `end`).
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        enc: Encoding,
        depth: u32,
        undefined: bool,
    ) -> Result<usize, ScanError> {
        if depth > MAX_DEPTH {
            return Err(ScanError::Malformed(format!(
                "sequences nested deeper than {MAX_DEPTH} levels"
            )));
        }
        loop {
            if pos >= end {
                if undefined {
                    return Err(ScanError::Truncated(
                        "data ends inside a sequence of undefined length".into(),
                    ));
                }
                return Ok(pos);
            }
            let big = enc.big();
            let trunc = || ScanError::Truncated(format!("item header at byte {pos} is cut off"));
            if pos + 8 > end {
                return Err(trunc());
            }
            let group = self.u16(pos, big).ok_or_else(trunc)?;
            let elem = self.u16(pos + 2, big).ok_or_else(trunc)?;
            let len = self.u32(pos + 4, big).ok_or_else(trunc)?;
            let value = pos + 8;
            match (group, elem) {
                (0xFFFE, 0xE0DD) if undefined => return Ok(value),
                (0xFFFE, 0xE000) => {
                    if len == UNDEFINED {
                        pos = self.dataset(value, end, enc, depth, true, None)?;
                    } else {
                        let v_end = value
                            .checked_add(len as usize)
                            .filter(|&v| v <= end)
                            .ok_or_else(|| {
                                ScanError::Truncated(format!(
                                    "sequence item at byte {pos} declares {len} bytes but fewer remain"
                                ))
                            })?;
                        self.dataset(value, v_end, enc, depth, false, None)?;
                        pos = v_end;
                    }
                }
                _ => {
                    return Err(ScanError::Malformed(format!(
                        "expected a sequence item at byte {pos}, found ({group:04X},{elem:04X})"
                    )))
                }
            }
        }
    }

    /// Encapsulated pixel data: items of defined length up to a sequence delimiter.
    /// A missing delimiter at the very end of the data is tolerated.
    fn fragments(&self, mut pos: usize, end: usize) -> Result<usize, ScanError> {
        loop {
            if pos >= end {
                return Ok(pos);
            }
            if pos + 8 > end {
                return Err(ScanError::Truncated(format!(
                    "pixel data fragment header at byte {pos} is cut off"
                )));
            }
            // encapsulated pixel data is always little endian
            let group = self.u16(pos, false).unwrap_or(0);
            let elem = self.u16(pos + 2, false).unwrap_or(0);
            let len = self.u32(pos + 4, false).unwrap_or(0);
            match (group, elem) {
                (0xFFFE, 0xE0DD) => return Ok(pos + 8),
                (0xFFFE, 0xE000) => {
                    if len == UNDEFINED {
                        return Err(ScanError::Malformed(
                            "pixel data fragment of undefined length".into(),
                        ));
                    }
                    let v_end = (pos + 8)
                        .checked_add(len as usize)
                        .filter(|&v| v <= end)
                        .ok_or_else(|| {
                            ScanError::Truncated(format!(
                                "pixel data fragment at byte {pos} declares {len} bytes but fewer remain"
                            ))
                        })?;
                    pos = v_end;
                }
                _ => {
                    return Err(ScanError::Malformed(format!(
                    "expected a pixel data fragment at byte {pos}, found ({group:04X},{elem:04X})"
                )))
                }
            }
        }
    }
}

/// Scan a whole data set.
pub(crate) fn scan(buf: &[u8], enc: Encoding) -> Result<ScanSummary, ScanError> {
    let s = Scanner { buf };
    let mut summary = ScanSummary::default();
    let end = s.dataset(0, buf.len(), enc, 0, false, Some(&mut summary))?;
    summary.end = end.min(buf.len());
    Ok(summary)
}

/// Guess the encoding of a data set from its first element.
///
/// Returns `None` when the first bytes do not look like a DICOM element.
pub(crate) fn sniff(buf: &[u8]) -> Option<Encoding> {
    let b = buf.get(0..8)?;
    let g_le = u16::from_le_bytes([b[0], b[1]]);
    let g_be = u16::from_be_bytes([b[0], b[1]]);
    let explicit = is_vr([b[4], b[5]]);
    let plausible = |g: u16| g.is_multiple_of(2) && (0x0002..=0x0FFF).contains(&g);
    if explicit {
        // groups are small numbers: the byte order giving the smaller plausible group wins
        if plausible(g_be) && (g_be < g_le || !plausible(g_le)) {
            Some(Encoding::ExplicitBE)
        } else if plausible(g_le) {
            Some(Encoding::ExplicitLE)
        } else {
            None
        }
    } else if plausible(g_le) {
        Some(Encoding::ImplicitLE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el_ex(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tag.0.to_le_bytes());
        v.extend_from_slice(&tag.1.to_le_bytes());
        v.extend_from_slice(vr);
        if long_length_vr(*vr) {
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            v.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        v.extend_from_slice(value);
        v
    }

    #[test]
    fn sniff_encodings() {
        let ex = el_ex((0x0008, 0x0016), b"UI", b"1.2\0");
        assert_eq!(sniff(&ex), Some(Encoding::ExplicitLE));
        let mut im = vec![0x08, 0, 0x16, 0, 4, 0, 0, 0];
        im.extend_from_slice(b"1.2\0");
        assert_eq!(sniff(&im), Some(Encoding::ImplicitLE));
        let be = [0, 0x08, 0, 0x16, b'U', b'I', 0, 4, b'1', b'.', b'2', 0];
        assert_eq!(sniff(&be), Some(Encoding::ExplicitBE));
        assert_eq!(sniff(b"%PDF-1.4 blah blah"), None);
        assert_eq!(sniff(b"abc"), None);
    }

    #[test]
    fn huge_length_is_rejected_before_allocation() {
        let mut v = el_ex((0x0008, 0x0016), b"UI", b"1.2\0");
        // OB element claiming 4 GB - 2
        v.extend_from_slice(&[0x09, 0x00, 0x10, 0x00, b'O', b'B', 0, 0]);
        v.extend_from_slice(&0xFFFF_FFFEu32.to_le_bytes());
        v.extend_from_slice(&[1, 2, 3, 4]);
        assert!(matches!(
            scan(&v, Encoding::ExplicitLE),
            Err(ScanError::Truncated(_))
        ));
    }

    #[test]
    fn nested_sequence_is_walked() {
        let inner = el_ex((0x0008, 0x0100), b"SH", b"AB");
        let mut item = vec![0xFE, 0xFF, 0x00, 0xE0];
        item.extend_from_slice(&(inner.len() as u32).to_le_bytes());
        item.extend_from_slice(&inner);
        let sq = el_ex((0x0008, 0x1140), b"SQ", &item);
        let s = scan(&sq, Encoding::ExplicitLE).expect("valid");
        assert_eq!(s.end, sq.len());
        // corrupt the inner length: must be detected
        let mut bad = sq.clone();
        let n = bad.len();
        bad[n - 4] = 0x40; // inner SH length 2 -> 0x40
        bad[n - 3] = 0;
        assert!(scan(&bad, Encoding::ExplicitLE).is_err());
    }

    #[test]
    fn deep_nesting_is_rejected() {
        // 100 nested undefined-length sequences
        let mut v = Vec::new();
        for _ in 0..100 {
            v.extend_from_slice(&[0x08, 0x00, 0x40, 0x11, b'S', b'Q', 0, 0]);
            v.extend_from_slice(&UNDEFINED.to_le_bytes());
            v.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
            v.extend_from_slice(&UNDEFINED.to_le_bytes());
        }
        assert!(matches!(
            scan(&v, Encoding::ExplicitLE),
            Err(ScanError::Malformed(_))
        ));
    }
}
