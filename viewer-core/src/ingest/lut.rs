//! Lookup tables of the pixel pipeline, read from the header: the Palette Color LUTs (plain, PS3.3
//! C.7.6.3.1.5-6, and segmented, C.7.9.2), the Modality LUT Sequence (C.11.1) and the VOI LUT Sequence
//! (C.11.2). Applying them is [`crate::window`]'s and [`crate::render`]'s business; this module only turns
//! header values into tables, or into a [`LutError`] saying why it cannot.
//!
//! # Descriptors
//!
//! Every table has a three-valued descriptor (Palette Color Lookup Table Descriptor, LUT Descriptor):
//!
//! - **entries**: the first value; 0 means 65536 (a US cannot hold 2^16).
//! - **first mapped value**: the second value, the input mapped to the first entry. Inputs below it map to
//!   the first entry, inputs at or above `first + entries - 1` to the last entry. Its VR is US or SS "depending
//!   on Pixel Representation" (C.7.6.3.1.5, C.11.1.1): it is read as signed when the element is SS, or when
//!   it is US with the top bit set and the pixel data are signed (that is how pydicom reads it from implicit
//!   VR files, where the dictionary cannot say). A VOI LUT's input is the modality output, which can also be
//!   negative through a negative Rescale Intercept: for VOI LUTs the top bit also means negative then.
//! - **bits per entry**: the third value, 8 or 16 for palettes and the Modality LUT, 8 to 16 for VOI LUTs.
//!
//! # The 8 versus 16 bit ambiguity
//!
//! LUT Data is US or OW, so 8-bit entries come either packed two per 16-bit word (the "8 bits allocated"
//! encoding of C.7.6.3.1.6) or one per word with the high byte zero (the older and more common encoding).
//! As pydicom does, the number of words decides: as many words as entries means one entry per word; half as
//! many (rounded up) with 8 bits per entry means packed bytes, little end first. An "8-bit" table holding
//! a value above 255 has 16-bit entries whatever its descriptor says (pydicom refuses such a table; DCMTK
//! reads it as 16-bit, and so does Lucent). For plain palette data pydicom's rule is the same: the data
//! length per entry, not the descriptor, decides.
//!
//! # Segmented palettes (C.7.9.2)
//!
//! The segmented data is a stream of entries (bytes for 8-bit tables, words for 16-bit ones) holding
//! segments `opcode, length, ...`:
//!
//! - **0, discrete**: `length` entries follow, copied as they are.
//! - **1, linear**: one value `y1` follows; `length` entries go from the previous segment's last value `y0`
//!   (excluded) to `y1` (included) on a straight line, rounded half to even, computed exactly as pydicom
//!   does (`numpy.linspace(y0 + (y1 - y0) / length, y1, length)`), so the two agree bit for bit. A linear
//!   segment cannot come first.
//! - **2, indirect**: `count` and a 32-bit offset (least significant 16 bits first) follow; the `count`
//!   segments starting at that **byte** offset from the start of the data are expanded again here. The
//!   standard says byte offset; pydicom 3.0 reads it as an entry index, which is the same for 8-bit tables
//!   and differs for 16-bit ones. Lucent follows the standard and, only when the byte offset does not land on
//!   a segment, accepts an entry index that does. An indirect segment cannot come first, point at another
//!   indirect segment (the standard forbids it, which rules out loops) or past the last segment.
//!
//! One trailing entry after the last segment is padding (an odd number of bytes in OW) and is ignored. The
//! expansion must give exactly the descriptor's number of entries; it stops with an error as soon as it
//! would give more, so no table grows past 65536 entries, and the number of segments expanded (indirect
//! copies included) is bounded by [`MAX_SEGMENT_EXPANSIONS`]. Every failure is a [`LutError`], never a
//! panic.
//!
//! # What is kept
//!
//! A palette becomes three 8-bit channels ([`Palette`], 16-bit entries keep their high byte, as the display
//! has 8 bits). Modality and VOI tables keep their entries as they are ([`Lut`]); their output range is
//! `0 ..= 2^bits - 1`. At most [`MAX_VOI_LUTS`] VOI LUTs are kept; an empty LUT item (descriptor and data
//! both absent or empty, which some writers emit) is no LUT at all.

use std::fmt;

use dicom_core::value::PrimitiveValue;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::parse::get_str;
use super::Palette;

/// Entries a table may have (the descriptor's first value is a 16-bit count, 0 meaning 65536).
pub const MAX_ENTRIES: usize = 65536;
/// VOI LUTs kept per image (the rest are ignored).
pub const MAX_VOI_LUTS: usize = 16;
/// Segments expanded for one segmented table, indirect copies included (a bound on the work a table of
/// zero-length segments copied over and over could ask for).
pub const MAX_SEGMENT_EXPANSIONS: usize = 1 << 18;

/// Why a lookup table in the header cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LutError {
    /// The descriptor is missing or has fewer than three values.
    Descriptor(&'static str),
    /// Bits per entry outside what the table may have.
    Bits(i64),
    /// The descriptor is there but the data is missing or empty.
    MissingData(&'static str),
    /// Plain LUT data with a number of words that fits neither encoding.
    DataLength { entries: usize, words: usize },
    /// A segment opcode other than 0, 1 or 2, at this entry of the data.
    UnknownOpcode { opcode: u16, at: usize },
    /// A linear or indirect segment first (it needs a previous value).
    FirstSegment { kind: &'static str, at: usize },
    /// A segment whose values run past the end of the data.
    SegmentTruncated { at: usize },
    /// An indirect segment whose offset is not the start of a segment (or is past the data).
    IndirectTarget { at: usize, offset: u64 },
    /// An indirect segment copying more segments than there are after its target.
    IndirectCount { at: usize, count: usize },
    /// An indirect segment copying another indirect segment.
    IndirectToIndirect { at: usize },
    /// The segments expand to more entries than the descriptor says.
    TooManyEntries { entries: usize },
    /// The segments expand to fewer entries than the descriptor says.
    TooFewEntries { entries: usize, got: usize },
    /// More segment expansions than [`MAX_SEGMENT_EXPANSIONS`].
    TooManySegments,
}

impl fmt::Display for LutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LutError::Descriptor(what) => write!(f, "{what} is missing or has fewer than 3 values"),
            LutError::Bits(b) => write!(f, "{b} bits per LUT entry"),
            LutError::MissingData(what) => write!(f, "{what} is missing or empty"),
            LutError::DataLength { entries, words } => write!(
                f,
                "LUT data has {words} words for {entries} entries (neither one nor half a word per entry)"
            ),
            LutError::UnknownOpcode { opcode, at } => {
                write!(f, "segmented LUT: unknown segment opcode {opcode} at entry {at}")
            }
            LutError::FirstSegment { kind, at } => write!(
                f,
                "segmented LUT: a {kind} segment (at entry {at}) needs a previous segment"
            ),
            LutError::SegmentTruncated { at } => write!(
                f,
                "segmented LUT: the segment at entry {at} runs past the end of the data"
            ),
            LutError::IndirectTarget { at, offset } => write!(
                f,
                "segmented LUT: the indirect segment at entry {at} points at offset {offset}, where no segment starts"
            ),
            LutError::IndirectCount { at, count } => write!(
                f,
                "segmented LUT: the indirect segment at entry {at} copies {count} segments, more than there are"
            ),
            LutError::IndirectToIndirect { at } => write!(
                f,
                "segmented LUT: the indirect segment at entry {at} copies another indirect segment"
            ),
            LutError::TooManyEntries { entries } => write!(
                f,
                "segmented LUT expands to more than the {entries} entries of its descriptor"
            ),
            LutError::TooFewEntries { entries, got } => write!(
                f,
                "segmented LUT expands to {got} entries, its descriptor says {entries}"
            ),
            LutError::TooManySegments => write!(
                f,
                "segmented LUT: more than {MAX_SEGMENT_EXPANSIONS} segments to expand"
            ),
        }
    }
}

impl std::error::Error for LutError {}

/// A Modality or VOI lookup table: `entries` outputs for the inputs `first_mapped ..`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lut {
    /// Input mapped to the first entry (inputs below map to it too; inputs past the end to the last entry).
    pub first_mapped: i64,
    /// Bits per entry: the output range is `0 ..= 2^bits - 1`.
    pub bits: u16,
    /// The entries (at least one).
    pub data: Vec<u16>,
    /// LUT Explanation (0028,3003), trimmed; may be empty.
    pub explanation: String,
    /// Modality LUT Type (0028,3004) for a Modality LUT (e.g. "OD", "HU", "US"); empty for VOI LUTs.
    pub lut_type: String,
}

impl Lut {
    /// Index of the entry for input `x` (clamped to the table; NaN maps to the first entry).
    #[inline]
    pub fn index(&self, x: f64) -> usize {
        let d = x - self.first_mapped as f64;
        if d >= 1.0 {
            // `as` saturates: huge inputs land on the last entry
            (d as usize).min(self.data.len() - 1)
        } else {
            0
        }
    }

    /// The entry for input `x`.
    #[inline]
    pub fn lookup(&self, x: f64) -> u16 {
        self.data[self.index(x)]
    }

    /// Largest output of the table's range, `2^bits - 1`.
    pub fn max_output(&self) -> f64 {
        f64::from((1u32 << self.bits.clamp(1, 16)) - 1)
    }

    /// The entry for `x` as an 8-bit display value: `round(entry * 255 / (2^bits - 1))`, half to even.
    #[inline]
    pub fn display(&self, x: f64) -> u8 {
        let y = f64::from(self.lookup(x)) * 255.0 / self.max_output();
        y.round_ties_even().clamp(0.0, 255.0) as u8
    }

    /// The inputs the table maps, first and last.
    pub fn input_range(&self) -> (f64, f64) {
        let first = self.first_mapped as f64;
        (first, first + (self.data.len() - 1) as f64)
    }

    /// Smallest and largest entry.
    pub fn output_range(&self) -> (u16, u16) {
        let lo = self.data.iter().copied().min().unwrap_or(0);
        let hi = self.data.iter().copied().max().unwrap_or(0);
        (lo, hi)
    }

    /// What to call the table on screen: its explanation, else `fallback`.
    pub fn label(&self, fallback: &str) -> String {
        if self.explanation.is_empty() {
            fallback.to_string()
        } else {
            self.explanation.clone()
        }
    }
}

/// A descriptor's three values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Descriptor {
    pub entries: usize,
    pub first: i64,
    pub bits: i64,
}

/// The values of `tag` as 16-bit words (US, SS or OW as numbers; OB/UN bytes paired little end first).
/// `None` when absent; the flag says the element is SS.
fn words(obj: &InMemDicomObject, tag: Tag) -> Option<(Vec<u16>, bool)> {
    let elem = obj.get(tag)?;
    let ss = elem.vr() == VR::SS;
    let words = match elem.value().primitive()? {
        PrimitiveValue::Empty => Vec::new(),
        PrimitiveValue::U16(v) => v.to_vec(),
        PrimitiveValue::I16(v) => v.iter().map(|&x| x as u16).collect(),
        PrimitiveValue::U8(v) => v
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
            .collect(),
        other => other
            .to_multi_int::<i64>()
            .ok()?
            .into_iter()
            .map(|x| x as u16)
            .collect(),
    };
    Some((words, ss))
}

/// A descriptor; `Ok(None)` when the element is absent or empty. `signed_top_bit`: whether a US second
/// value with its top bit set is negative (see the module docs).
pub(crate) fn descriptor(
    obj: &InMemDicomObject,
    tag: Tag,
    what: &'static str,
    signed_top_bit: bool,
) -> Result<Option<Descriptor>, LutError> {
    let Some((d, ss)) = words(obj, tag) else {
        return Ok(None);
    };
    if d.is_empty() {
        return Ok(None);
    }
    if d.len() < 3 {
        return Err(LutError::Descriptor(what));
    }
    let entries = if d[0] == 0 {
        MAX_ENTRIES
    } else {
        usize::from(d[0])
    };
    let first = if ss || (signed_top_bit && d[1] >= 0x8000) {
        i64::from(d[1] as i16)
    } else {
        i64::from(d[1])
    };
    // the bit count is small and positive whichever VR carried it
    let bits = i64::from(d[2] as i16);
    Ok(Some(Descriptor {
        entries,
        first,
        bits,
    }))
}

/// Entries of plain LUT data: one per word, or (8-bit tables) packed two per word.
fn plain_entries(words: &[u16], entries: usize, bits: i64) -> Option<Vec<u16>> {
    if words.len() >= entries {
        Some(words[..entries].to_vec())
    } else if bits == 8 && words.len() == entries.div_ceil(2) {
        Some(
            words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .take(entries)
                .map(u16::from)
                .collect(),
        )
    } else {
        None
    }
}

/// One parsed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Values at `data[start..start + len]`.
    Discrete {
        start: usize,
        len: usize,
    },
    Linear {
        len: usize,
        y1: u16,
    },
    Indirect {
        count: usize,
        offset: u64,
    },
}

/// The segments of a segmented table: (entry index of the opcode, segment).
fn parse_segments(data: &[u16], entry_bytes: usize) -> Result<Vec<(usize, Segment)>, LutError> {
    let mut segments = Vec::new();
    let mut pos = 0usize;
    // `pos + 1 < len`: a single trailing entry is padding
    while pos + 1 < data.len() {
        let at = pos;
        let opcode = data[pos];
        let len = usize::from(data[pos + 1]);
        pos += 2;
        let segment = match opcode {
            0 => {
                if pos + len > data.len() {
                    return Err(LutError::SegmentTruncated { at });
                }
                let s = Segment::Discrete { start: pos, len };
                pos += len;
                s
            }
            1 => {
                let y1 = *data.get(pos).ok_or(LutError::SegmentTruncated { at })?;
                pos += 1;
                Segment::Linear { len, y1 }
            }
            2 => {
                // a 32-bit byte offset: 2 words, or 4 bytes
                let n = 4 / entry_bytes;
                let v = data
                    .get(pos..pos + n)
                    .ok_or(LutError::SegmentTruncated { at })?;
                let (lo, hi) = if entry_bytes == 1 {
                    (v[0] | (v[1] << 8), v[2] | (v[3] << 8))
                } else {
                    (v[0], v[1])
                };
                pos += n;
                Segment::Indirect {
                    count: len,
                    offset: u64::from(lo) | (u64::from(hi) << 16),
                }
            }
            _ => return Err(LutError::UnknownOpcode { opcode, at }),
        };
        segments.push((at, segment));
    }
    Ok(segments)
}

/// Expands a segmented table (C.7.9.2) of `entry_bytes`-byte entries (1 or 2) to exactly `entries` entries.
pub fn expand_segmented(
    data: &[u16],
    entry_bytes: usize,
    entries: usize,
) -> Result<Vec<u16>, LutError> {
    let entry_bytes = entry_bytes.clamp(1, 2);
    let segments = parse_segments(data, entry_bytes)?;
    let mut out: Vec<u16> = Vec::with_capacity(entries.min(MAX_ENTRIES));
    let mut work = 0usize;
    let mut one = |segment: Segment, at: usize, out: &mut Vec<u16>| -> Result<(), LutError> {
        work += 1;
        if work > MAX_SEGMENT_EXPANSIONS {
            return Err(LutError::TooManySegments);
        }
        let len = match segment {
            Segment::Discrete { len, .. } | Segment::Linear { len, .. } => len,
            Segment::Indirect { .. } => return Err(LutError::IndirectToIndirect { at }),
        };
        if out.len() + len > entries {
            return Err(LutError::TooManyEntries { entries });
        }
        match segment {
            Segment::Discrete { start, len } => out.extend_from_slice(&data[start..start + len]),
            Segment::Linear { len, y1 } => {
                let &y0 = out
                    .last()
                    .ok_or(LutError::FirstSegment { kind: "linear", at })?;
                linear(out, y0, y1, len);
            }
            Segment::Indirect { .. } => {}
        }
        Ok(())
    };
    for &(at, segment) in &segments {
        let Segment::Indirect { count, offset } = segment else {
            one(segment, at, &mut out)?;
            continue;
        };
        if out.is_empty() {
            return Err(LutError::FirstSegment {
                kind: "indirect",
                at,
            });
        }
        let starts_at = |index: u64| segments.iter().position(|&(s, _)| s as u64 == index);
        let by_bytes = (offset % entry_bytes as u64 == 0)
            .then(|| starts_at(offset / entry_bytes as u64))
            .flatten();
        let target = by_bytes
            .or_else(|| (entry_bytes == 2).then(|| starts_at(offset)).flatten())
            .ok_or(LutError::IndirectTarget { at, offset })?;
        let copies = segments
            .get(target..target.saturating_add(count))
            .ok_or(LutError::IndirectCount { at, count })?;
        for &(_, s) in copies {
            one(s, at, &mut out)?;
        }
    }
    if out.len() != entries {
        return Err(LutError::TooFewEntries {
            entries,
            got: out.len(),
        });
    }
    Ok(out)
}

/// `len` entries from `y0` (excluded) to `y1` (included), as pydicom computes them:
/// `numpy.around(numpy.linspace(y0 + (y1 - y0) / len, y1, len))`.
fn linear(out: &mut Vec<u16>, y0: u16, y1: u16, len: usize) {
    if len == 0 {
        return;
    }
    if y0 == y1 {
        out.extend(std::iter::repeat_n(y1, len));
        return;
    }
    let (a, b) = (f64::from(y0), f64::from(y1));
    let start = a + (b - a) / len as f64;
    if len > 1 {
        let step = (b - start) / (len - 1) as f64;
        for i in 0..len - 1 {
            let v = (i as f64 * step + start).round_ties_even();
            out.push(v.clamp(0.0, 65535.0) as u16);
        }
    }
    out.push(y1);
}

/// Palette Color LUT of a PALETTE COLOR image: plain data (0028,1201-1203) when present, else segmented
/// data (0028,1221-1223). `Ok(None)` when there is no red descriptor at all.
pub(crate) fn palette_of(
    obj: &InMemDicomObject,
    pixel_signed: bool,
) -> Result<Option<Palette>, LutError> {
    let channels = [
        (
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "Red Palette Color Lookup Table",
        ),
        (
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "Green Palette Color Lookup Table",
        ),
        (
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            "Blue Palette Color Lookup Table",
        ),
    ];
    if obj.get(channels[0].0).is_none() {
        return Ok(None);
    }
    let mut first_mapped = 0;
    let mut out: [Vec<u8>; 3] = Default::default();
    for (k, &(desc_tag, data_tag, seg_tag, what)) in channels.iter().enumerate() {
        let d = descriptor(obj, desc_tag, what, pixel_signed)?.ok_or(LutError::Descriptor(what))?;
        if k == 0 {
            first_mapped = d.first;
        }
        let plain = words(obj, data_tag).map(|(w, _)| w).unwrap_or_default();
        out[k] = if !plain.is_empty() {
            plain_channel(&plain, d)
        } else if let Some((seg, _)) = words(obj, seg_tag).filter(|(w, _)| !w.is_empty()) {
            if d.bits != 8 && d.bits != 16 {
                return Err(LutError::Bits(d.bits));
            }
            if d.bits == 8 {
                let bytes: Vec<u16> = seg
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .map(u16::from)
                    .collect();
                expand_segmented(&bytes, 1, d.entries)?
                    .into_iter()
                    .map(|v| v as u8)
                    .collect()
            } else {
                expand_segmented(&seg, 2, d.entries)?
                    .into_iter()
                    .map(|v| (v >> 8) as u8)
                    .collect()
            }
        } else {
            return Err(LutError::MissingData(what));
        };
    }
    let [red, green, blue] = out;
    Ok(Some(Palette {
        first_mapped,
        red,
        green,
        blue,
    }))
}

/// One channel of plain palette data reduced to 8 bits. As pydicom: half a word per entry means 8-bit
/// entries packed two per word; otherwise one entry per word, of the descriptor's bits (8: the low byte,
/// else the high byte). Shorter data gives a shorter palette (lookups clamp to its last entry).
fn plain_channel(words: &[u16], d: Descriptor) -> Vec<u8> {
    if words.len() < d.entries && words.len() == d.entries.div_ceil(2) {
        return words
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(d.entries)
            .collect();
    }
    let take = words.len().min(d.entries);
    if d.bits == 8 {
        words[..take].iter().map(|&w| (w & 0xFF) as u8).collect()
    } else {
        words[..take].iter().map(|&w| (w >> 8) as u8).collect()
    }
}

/// A Modality or VOI LUT from one sequence item; `Ok(None)` for an empty item.
fn lut_item(
    item: &InMemDicomObject,
    signed_top_bit: bool,
    what: &'static str,
) -> Result<Option<Lut>, LutError> {
    let d = descriptor(item, tags::LUT_DESCRIPTOR, "LUT Descriptor", signed_top_bit)?;
    let data = words(item, tags::LUT_DATA)
        .map(|(w, _)| w)
        .unwrap_or_default();
    let Some(d) = d else {
        return if data.is_empty() {
            Ok(None)
        } else {
            Err(LutError::Descriptor("LUT Descriptor"))
        };
    };
    if data.is_empty() {
        return Err(LutError::MissingData(what));
    }
    if !(8..=16).contains(&d.bits) {
        return Err(LutError::Bits(d.bits));
    }
    let entries = plain_entries(&data, d.entries, d.bits).ok_or(LutError::DataLength {
        entries: d.entries,
        words: data.len(),
    })?;
    let mut bits = d.bits as u16;
    if bits == 8 && entries.iter().any(|&v| v > 255) {
        bits = 16;
    }
    Ok(Some(Lut {
        first_mapped: d.first,
        bits,
        data: entries,
        explanation: get_str(item, tags::LUT_EXPLANATION),
        lut_type: get_str(item, tags::MODALITY_LUT_TYPE),
    }))
}

/// The first item of the Modality LUT Sequence (0028,3000); `Ok(None)` without one (or with an empty item).
pub(crate) fn modality_lut_of(
    obj: &InMemDicomObject,
    pixel_signed: bool,
) -> Result<Option<Lut>, LutError> {
    let Some(item) = obj
        .get(tags::MODALITY_LUT_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
    else {
        return Ok(None);
    };
    lut_item(item, pixel_signed, "Modality LUT Data")
}

/// The usable items of the VOI LUT Sequence (0028,3010), at most [`MAX_VOI_LUTS`]. A malformed item is
/// left out: the image can still be shown with a window, and a wrong VOI LUT offered would mislead.
pub(crate) fn voi_luts_of(obj: &InMemDicomObject, signed_top_bit: bool) -> Vec<Lut> {
    let Some(items) = obj.get(tags::VOILUT_SEQUENCE).and_then(|e| e.items()) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            lut_item(item, signed_top_bit, "VOI LUT Data")
                .ok()
                .flatten()
        })
        .take(MAX_VOI_LUTS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand16(data: &[u16], entries: usize) -> Result<Vec<u16>, LutError> {
        expand_segmented(data, 2, entries)
    }

    #[test]
    fn discrete_segments_copy_their_values() {
        assert_eq!(expand16(&[0, 3, 10, 20, 30], 3), Ok(vec![10, 20, 30]));
        assert_eq!(
            expand16(&[0, 2, 1, 2, 0, 1, 7], 3),
            Ok(vec![1, 2, 7]),
            "two discrete segments"
        );
        // a zero-length discrete segment adds nothing
        assert_eq!(expand16(&[0, 1, 5, 0, 0], 1), Ok(vec![5]));
    }

    #[test]
    fn linear_segments_exclude_the_start_and_include_the_end() {
        // 0 then 4 steps to 100: 25, 50, 75, 100
        assert_eq!(
            expand16(&[0, 1, 0, 1, 4, 100], 5),
            Ok(vec![0, 25, 50, 75, 100])
        );
        // downwards
        assert_eq!(expand16(&[0, 1, 9, 1, 3, 0], 4), Ok(vec![9, 6, 3, 0]));
        // flat
        assert_eq!(expand16(&[0, 1, 7, 1, 3, 7], 4), Ok(vec![7, 7, 7, 7]));
        // length 1 is the end value
        assert_eq!(expand16(&[0, 1, 0, 1, 1, 65535], 2), Ok(vec![0, 65535]));
        // rounding half to even (numpy.around): 0 -> 1 over 2 gives 0.5 -> 0, then 1
        assert_eq!(expand16(&[0, 1, 0, 1, 2, 1], 3), Ok(vec![0, 0, 1]));
        // 0 -> 3 over 2: 1.5 -> 2, 3
        assert_eq!(expand16(&[0, 1, 0, 1, 2, 3], 3), Ok(vec![0, 2, 3]));
        // a long ramp over the whole 16-bit range ends exactly on its end value and is monotonic
        let v = expand16(&[0, 1, 0, 1, 65535, 65535], 65536).expect("ramp");
        assert_eq!(v.len(), 65536);
        assert_eq!((v[0], v[1], v[32768], v[65535]), (0, 1, 32768, 65535));
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn indirect_segments_copy_earlier_segments_by_byte_offset() {
        // discrete [1, 2] at entry 0, linear to 4 over 2 at entry 4, then copy both (byte offset 0)
        let data = [0, 2, 1, 2, 1, 2, 4, 2, 2, 0, 0];
        // 1, 2, 3, 4 | copy: 1, 2, then the linear from 2 to 4 again: 3, 4
        assert_eq!(expand16(&data, 8), Ok(vec![1, 2, 3, 4, 1, 2, 3, 4]));
        // copy only the linear segment: it starts at entry 4 = byte offset 8
        let data = [0, 2, 1, 2, 1, 2, 4, 2, 1, 8, 0, 1, 1, 0];
        // 1, 2, 3, 4 | linear 4 -> 4: 4, 4 | linear to 0 over 1: 0
        assert_eq!(expand16(&data, 7), Ok(vec![1, 2, 3, 4, 4, 4, 0]));
        // pydicom reads the offset as an entry index: accepted when the byte offset lands on no segment
        let data = [0, 2, 1, 2, 1, 2, 4, 2, 1, 4, 0];
        assert_eq!(expand16(&data, 6), Ok(vec![1, 2, 3, 4, 4, 4]));
        // the 32-bit offset is least significant word first
        let mut long = vec![0u16, 2, 9, 9];
        long.extend([0, 0]); // a zero-length discrete segment at entry 4
        long.extend([2, 1, 0x0008, 0x0001]); // byte offset 0x10008: nothing there
        assert_eq!(
            expand16(&long, 2),
            Err(LutError::IndirectTarget {
                at: 6,
                offset: 0x10008
            })
        );
    }

    #[test]
    fn eight_bit_segments_use_bytes_and_a_four_byte_offset() {
        // entries are bytes: discrete [10, 20], linear to 40 over 2, indirect copy 1 segment at byte 0
        let bytes = [0u16, 2, 10, 20, 1, 2, 40, 2, 1, 0, 0, 0, 0];
        assert_eq!(
            expand_segmented(&bytes, 1, 6),
            Ok(vec![10, 20, 30, 40, 10, 20])
        );
        // offset bytes are little end first within each 16-bit half: 0x00000004 -> the linear segment
        let bytes = [0u16, 2, 10, 20, 1, 2, 40, 2, 1, 4, 0, 0, 0];
        assert_eq!(
            expand_segmented(&bytes, 1, 6),
            Ok(vec![10, 20, 30, 40, 40, 40])
        );
    }

    #[test]
    fn one_trailing_entry_is_padding() {
        assert_eq!(expand16(&[0, 2, 5, 6, 0], 2), Ok(vec![5, 6]));
    }

    #[test]
    fn malformed_segments_are_typed_errors() {
        let err = |data: &[u16], entries| expand16(data, entries).unwrap_err();
        assert_eq!(
            err(&[1, 2, 5], 2),
            LutError::FirstSegment {
                kind: "linear",
                at: 0
            }
        );
        assert_eq!(
            err(&[2, 1, 0, 0], 2),
            LutError::FirstSegment {
                kind: "indirect",
                at: 0
            }
        );
        // a discrete segment longer than the data
        assert_eq!(err(&[0, 5, 1, 2], 5), LutError::SegmentTruncated { at: 0 });
        // a linear segment without its end value
        assert_eq!(
            err(&[0, 1, 1, 1, 3], 4),
            LutError::SegmentTruncated { at: 3 }
        );
        // an indirect segment without its offset
        assert_eq!(
            err(&[0, 1, 1, 2, 1, 0], 2),
            LutError::SegmentTruncated { at: 3 }
        );
        // pointing past the table
        assert_eq!(
            err(&[0, 1, 1, 2, 1, 200, 0], 2),
            LutError::IndirectTarget { at: 3, offset: 200 }
        );
        // pointing into the middle of a segment (byte 2 = entry 1, and entry 2 is a value too)
        assert_eq!(
            err(&[0, 2, 1, 1, 2, 1, 2, 0], 4),
            LutError::IndirectTarget { at: 4, offset: 2 }
        );
        // an odd byte offset in a 16-bit table that is no segment start as an index either
        assert_eq!(
            err(&[0, 2, 1, 1, 2, 1, 3, 0], 4),
            LutError::IndirectTarget { at: 4, offset: 3 }
        );
        // copying more segments than there are
        assert_eq!(
            err(&[0, 1, 1, 2, 5, 0, 0], 6),
            LutError::IndirectCount { at: 3, count: 5 }
        );
        // copying an indirect segment (itself included)
        assert_eq!(
            err(&[0, 1, 1, 2, 1, 6, 0], 3),
            LutError::IndirectToIndirect { at: 3 }
        );
        assert_eq!(
            err(&[0, 1, 1, 2, 2, 0, 0], 3),
            LutError::IndirectToIndirect { at: 3 }
        );
        // unknown opcode
        assert_eq!(
            err(&[0, 1, 1, 3, 1, 1], 2),
            LutError::UnknownOpcode { opcode: 3, at: 3 }
        );
        // output length against the descriptor
        assert_eq!(
            err(&[0, 3, 1, 2, 3], 2),
            LutError::TooManyEntries { entries: 2 }
        );
        assert_eq!(
            err(&[0, 1, 0, 1, 65535, 9], 100),
            LutError::TooManyEntries { entries: 100 }
        );
        assert_eq!(
            err(&[0, 3, 1, 2, 3], 4),
            LutError::TooFewEntries { entries: 4, got: 3 }
        );
        assert_eq!(err(&[], 4), LutError::TooFewEntries { entries: 4, got: 0 });
    }

    #[test]
    fn repeated_copies_of_empty_segments_are_bounded() {
        // one value, 2000 empty segments, then 2000 indirect segments each copying all of them
        let mut data = vec![0u16, 1, 1];
        data.extend(std::iter::repeat_n([0u16, 0], 2000).flatten());
        data.extend(std::iter::repeat_n([2u16, 2000, 6, 0], 2000).flatten());
        assert_eq!(expand16(&data, 1), Err(LutError::TooManySegments));
    }

    #[test]
    fn lookups_clamp_to_the_table() {
        let lut = Lut {
            first_mapped: -2,
            bits: 8,
            data: vec![10, 20, 30, 255],
            explanation: String::new(),
            lut_type: String::new(),
        };
        assert_eq!(lut.lookup(-100.0), 10);
        assert_eq!(lut.lookup(-2.0), 10);
        assert_eq!(lut.lookup(-1.0), 20);
        assert_eq!(
            lut.lookup(-0.5),
            20,
            "fractional inputs truncate, as pydicom's"
        );
        assert_eq!(lut.lookup(0.0), 30);
        assert_eq!(lut.lookup(1.0), 255);
        assert_eq!(lut.lookup(1e12), 255);
        assert_eq!(lut.lookup(f64::NAN), 10);
        assert_eq!(lut.display(1.0), 255);
        assert_eq!(lut.display(-1.0), 20);
        assert_eq!(lut.input_range(), (-2.0, 1.0));
        assert_eq!(lut.label("VOI LUT"), "VOI LUT");
        let lut16 = Lut {
            bits: 12,
            data: vec![0, 2048, 4095],
            ..lut
        };
        // 2048 * 255 / 4095 = 127.53 -> 128
        assert_eq!(
            (lut16.display(-2.0), lut16.display(-1.0), lut16.display(0.0)),
            (0, 128, 255)
        );
    }

    #[test]
    fn plain_entries_follow_the_word_count() {
        // one entry per word
        assert_eq!(plain_entries(&[1, 2, 3], 3, 16), Some(vec![1, 2, 3]));
        assert_eq!(plain_entries(&[1, 2, 3, 4], 3, 8), Some(vec![1, 2, 3]));
        // 8-bit packed two per word, little end first (odd count: the last byte is padding)
        assert_eq!(plain_entries(&[0x0201, 0x0003], 3, 8), Some(vec![1, 2, 3]));
        assert_eq!(plain_entries(&[0x0201], 2, 16), None);
        assert_eq!(plain_entries(&[1], 3, 8), None);
    }
}

/// The tables through the whole pipeline: files built byte by byte, read, decoded and rendered.
#[cfg(test)]
mod pipeline_tests {
    use crate::error::ErrorCode;
    use crate::ingest::testutil::{Ds, Slice};
    use crate::library::Library;
    use crate::window::{Voi, Window};
    use crate::RgbaImage;

    fn us(v: &[u16]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// A sequence of one item (explicit VR little endian, defined lengths).
    fn sequence(items: &[Ds]) -> Vec<u8> {
        let mut v = Vec::new();
        for item in items {
            let body = item.bare(true);
            v.extend([0xFE, 0xFF, 0x00, 0xE0]);
            v.extend((body.len() as u32).to_le_bytes());
            v.extend(body);
        }
        v
    }

    fn lut_item(desc: [u16; 3], data: &[u16], explanation: &str) -> Ds {
        let mut d = Ds::new().raw((0x0028, 0x3002), b"US", us(&desc), 0).raw(
            (0x0028, 0x3006),
            b"OW",
            us(data),
            0,
        );
        if !explanation.is_empty() {
            d = d.s((0x0028, 0x3003), b"LO", explanation);
        }
        d
    }

    /// The 2x2 slice [0, 100, 200, 300] (signed 16-bit) with extra elements.
    fn file(photometric: &str, window: Option<(f64, f64)>, extra: impl Fn(Ds) -> Ds) -> Vec<u8> {
        let s = Slice {
            photometric,
            window,
            ..Slice::default()
        };
        extra(s.ds()).part10("1.2.840.10008.1.2.1")
    }

    fn render(lib: &mut Library, voi: Voi) -> Vec<[u8; 4]> {
        let mut img = RgbaImage::default();
        lib.render_voi(0, 0, voi, &mut img).expect("render");
        img.data
            .chunks(4)
            .map(|p| [p[0], p[1], p[2], p[3]])
            .collect()
    }

    fn segmented(ds: Ds, red: &[u16], green: &[u16], blue: &[u16]) -> Ds {
        let desc = us(&[301, 0, 16]);
        ds.raw((0x0028, 0x1101), b"US", desc.clone(), 0)
            .raw((0x0028, 0x1102), b"US", desc.clone(), 0)
            .raw((0x0028, 0x1103), b"US", desc, 0)
            .raw((0x0028, 0x1221), b"OW", us(red), 0)
            .raw((0x0028, 0x1222), b"OW", us(green), 0)
            .raw((0x0028, 0x1223), b"OW", us(blue), 0)
    }

    #[test]
    fn a_segmented_palette_is_shown() {
        // red 0 -> 30000 over 300 entries (entry k = 100 k), green flat 65535, blue one value copied by an
        // indirect segment and extended by a flat linear one
        let f = file("PALETTE COLOR", None, |ds| {
            segmented(
                ds,
                &[0, 1, 0, 1, 300, 30000],
                &[0, 1, 65535, 1, 300, 65535],
                &[0, 1, 0x1200, 2, 1, 0, 0, 1, 299, 0x1200],
            )
        });
        let mut lib = Library::new();
        assert_eq!(lib.add_file("pal", f).status, "image");
        let voi = lib.default_voi(0, 0).expect("voi");
        // stored 0, 100, 200, 300 -> red 0, 10000, 20000, 30000 >> 8
        assert_eq!(
            render(&mut lib, voi),
            vec![
                [0, 255, 18, 255],
                [39, 255, 18, 255],
                [78, 255, 18, 255],
                [117, 255, 18, 255]
            ]
        );
    }

    #[test]
    fn a_malformed_segmented_palette_is_a_malformed_file_not_a_panic() {
        for red in [
            &[1u16, 300, 5][..],                // linear first
            &[0, 1, 0, 2, 1, 40, 0, 1, 299, 0], // indirect past the table
            &[0, 400, 1, 2],                    // discrete past the data
            &[0, 1, 0, 1, 100, 5],              // 101 entries, the descriptor says 301
        ] {
            let f = file("PALETTE COLOR", None, |ds| {
                segmented(ds, red, &[0, 1, 0, 1, 300, 0], &[0, 1, 0, 1, 300, 0])
            });
            let mut lib = Library::new();
            assert_eq!(lib.add_file("bad", f).status, "image");
            let e = lib
                .render(
                    0,
                    0,
                    Window::from_range(0.0, 300.0),
                    &mut RgbaImage::default(),
                )
                .unwrap_err();
            assert_eq!(e.code(), ErrorCode::Malformed, "{red:?}: {e}");
            assert!(e.to_string().contains("segmented LUT"), "{e}");
            assert_eq!(lib.decode_series(0).expect("series"), 0);
            assert_eq!(lib.report()[0].code, Some("malformed"));
        }
    }

    #[test]
    fn the_modality_lut_replaces_the_rescale() {
        let f = file("MONOCHROME2", None, |ds| {
            ds.raw(
                (0x0028, 0x3000),
                b"SQ",
                sequence(&[lut_item([3, 99, 16], &[1000, 2000, 3000], "")]),
                0,
            )
        });
        let mut lib = Library::new();
        assert_eq!(lib.add_file("mlut", f).status, "image");
        assert_eq!(
            lib.slice_info(0, 0).expect("info").modality_lut.as_deref(),
            Some("Modality LUT")
        );
        // stored 0, 100, 200, 300 -> 1000 (clamped), 2000, 3000, 3000 (clamped); the default window is the
        // range 1000..3000 of the modality values: 1000 -> 0, 2000 -> 127.5 -> 128, 3000 -> 255
        let voi = lib.default_voi(0, 0).expect("voi");
        assert_eq!(voi, Voi::Window(Window::from_range(1000.0, 3000.0)));
        let grey: Vec<u8> = render(&mut lib, voi).iter().map(|p| p[0]).collect();
        assert_eq!(grey, vec![0, 128, 255, 255]);
        // a volume is not built from it (its voxels would be rescaled linearly)
        let mut lib = Library::new();
        for z in 0..2 {
            let f = Slice {
                position: Some([0.0, 0.0, f64::from(z)]),
                instance_number: Some(z + 1),
                ..Slice::default()
            }
            .ds()
            .raw(
                (0x0028, 0x3000),
                b"SQ",
                sequence(&[lut_item([3, 99, 16], &[1000, 2000, 3000], "")]),
                0,
            )
            .part10("1.2.840.10008.1.2.1");
            lib.add_file(&format!("m{z}"), f);
        }
        let Err(e) = lib.build_volume(0, &crate::volume::build::BuildOptions::default()) else {
            panic!("a volume was built from Modality LUT images");
        };
        assert_eq!(e.code(), ErrorCode::UnsupportedPixelFormat);
    }

    #[test]
    fn a_modality_lut_that_does_not_fit_its_descriptor_refuses_the_image() {
        let f = file("MONOCHROME2", None, |ds| {
            ds.raw(
                (0x0028, 0x3000),
                b"SQ",
                sequence(&[lut_item([10, 0, 16], &[1, 2, 3], "")]),
                0,
            )
        });
        let mut lib = Library::new();
        lib.add_file("m", f);
        let e = lib
            .render(
                0,
                0,
                Window::from_range(0.0, 1.0),
                &mut RgbaImage::default(),
            )
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Malformed);
        assert!(e.to_string().contains("Modality LUT"), "{e}");
    }

    #[test]
    fn a_voi_lut_is_the_default_only_without_a_window() {
        let voi_seq = |ds: Ds| {
            ds.raw(
                (0x0028, 0x3010),
                b"SQ",
                sequence(&[
                    lut_item([4, 99, 8], &[0, 64, 128, 255], "TEST"),
                    // malformed (3 words for 10 entries): left out
                    lut_item([10, 0, 16], &[1, 2, 3], "BAD"),
                    lut_item([2, 0, 16], &[0, 65535], ""),
                ]),
                0,
            )
        };
        let mut lib = Library::new();
        lib.add_file("v", file("MONOCHROME2", None, voi_seq));
        let info = lib.slice_info(0, 0).expect("info");
        assert_eq!(
            info.voi_luts,
            vec!["TEST".to_string(), "VOI LUT".to_string()]
        );
        assert_eq!(lib.default_voi(0, 0).expect("voi"), Voi::Lut(0));
        let choice = lib.voi_choice(0, 0, None).expect("choice");
        assert_eq!(
            (choice.lut, choice.label.as_deref()),
            (Some(0), Some("TEST"))
        );
        assert_eq!(
            Window {
                center: choice.center,
                width: choice.width
            },
            Window::from_range(99.0, 102.0)
        );
        // 0 -> entry 0, 100 -> entry 1, 200 and 300 -> the last entry
        let grey: Vec<u8> = render(&mut lib, Voi::Lut(0)).iter().map(|p| p[0]).collect();
        assert_eq!(grey, vec![0, 64, 255, 255]);
        // the second usable table: 0 -> 0, then 65535 -> 255
        let grey: Vec<u8> = render(&mut lib, Voi::Lut(1)).iter().map(|p| p[0]).collect();
        assert_eq!(grey, vec![0, 255, 255, 255]);
        let e = lib
            .render_voi(0, 0, Voi::Lut(2), &mut RgbaImage::default())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        // with a window in the file, the window comes first (the LUTs stay selectable)
        let mut lib = Library::new();
        lib.add_file("w", file("MONOCHROME2", Some((150.0, 300.0)), voi_seq));
        assert_eq!(
            lib.default_voi(0, 0).expect("voi"),
            Voi::Window(Window {
                center: 150.0,
                width: 300.0
            })
        );
        assert_eq!(lib.voi_choice(0, 0, Some(1)).expect("lut").lut, Some(1));
    }
}
