//! Test helper: build small DICOM Part 10 files byte by byte (explicit or implicit VR
//! little endian), independent of any DICOM writer.

/// One element: tag, VR, value.
type Elem = ((u16, u16), [u8; 2], Vec<u8>);

/// A data set under construction.
#[derive(Default, Clone)]
pub(crate) struct Ds {
    elems: Vec<Elem>,
}

fn long_vr(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR"
    )
}

impl Ds {
    pub(crate) fn new() -> Self {
        Self::default()
    }
    /// Raw element (value padded to even length with `pad`).
    pub(crate) fn raw(
        mut self,
        tag: (u16, u16),
        vr: &[u8; 2],
        mut value: Vec<u8>,
        pad: u8,
    ) -> Self {
        if value.len() % 2 == 1 {
            value.push(pad);
        }
        self.elems.retain(|(t, _, _)| *t != tag);
        self.elems.push((tag, *vr, value));
        self
    }
    /// String element (UI padded with NUL, others with space).
    pub(crate) fn s(self, tag: (u16, u16), vr: &[u8; 2], v: &str) -> Self {
        let pad = if vr == b"UI" { 0 } else { b' ' };
        self.raw(tag, vr, v.as_bytes().to_vec(), pad)
    }
    /// US element.
    pub(crate) fn us(self, tag: (u16, u16), v: u16) -> Self {
        self.raw(tag, b"US", v.to_le_bytes().to_vec(), 0)
    }
    /// Remove an element.
    pub(crate) fn without(mut self, tag: (u16, u16)) -> Self {
        self.elems.retain(|(t, _, _)| *t != tag);
        self
    }

    fn encode(&self, explicit: bool) -> Vec<u8> {
        let mut elems = self.elems.clone();
        elems.sort_by_key(|(t, _, _)| *t);
        let mut out = Vec::new();
        for ((g, e), vr, value) in elems {
            out.extend_from_slice(&g.to_le_bytes());
            out.extend_from_slice(&e.to_le_bytes());
            if explicit {
                out.extend_from_slice(&vr);
                if long_vr(vr) {
                    out.extend_from_slice(&[0, 0]);
                    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
                } else {
                    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
                }
            } else {
                out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            }
            out.extend_from_slice(&value);
        }
        out
    }

    /// Part 10 file: preamble, DICM, meta group (explicit LE), data set in `ts`.
    pub(crate) fn part10(&self, ts: &str) -> Vec<u8> {
        let mut meta = Ds::new()
            .raw((0x0002, 0x0001), b"OB", vec![0, 1], 0)
            .s((0x0002, 0x0002), b"UI", "1.2.840.10008.5.1.4.1.1.7")
            .s((0x0002, 0x0003), b"UI", "1.2.3.4")
            .s((0x0002, 0x0010), b"UI", ts)
            .encode(true);
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.append(&mut meta);
        out.extend(self.encode(ts != "1.2.840.10008.1.2"));
        out
    }

    /// Bare data set without preamble or meta.
    pub(crate) fn bare(&self, explicit: bool) -> Vec<u8> {
        self.encode(explicit)
    }
}

/// Parameters of a synthetic 16-bit monochrome slice.
pub(crate) struct Slice<'a> {
    pub series_uid: &'a str,
    pub instance_number: Option<i32>,
    pub position: Option<[f64; 3]>,
    pub orientation: [f64; 6],
    pub rows: u16,
    pub cols: u16,
    pub pixels: Vec<i16>,
    pub window: Option<(f64, f64)>,
    pub rescale: (f64, f64),
    pub photometric: &'a str,
}

impl Default for Slice<'_> {
    fn default() -> Self {
        Slice {
            series_uid: "1.2.3.100",
            instance_number: Some(1),
            position: Some([0.0, 0.0, 0.0]),
            orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            rows: 2,
            cols: 2,
            pixels: vec![0, 100, 200, 300],
            window: None,
            rescale: (1.0, 0.0),
            photometric: "MONOCHROME2",
        }
    }
}

fn ds_list(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join("\\")
}

impl Slice<'_> {
    /// Data set of the slice (signed 16-bit, Bits Stored 16).
    pub(crate) fn ds(&self) -> Ds {
        let mut d = Ds::new()
            .s((0x0008, 0x0016), b"UI", "1.2.840.10008.5.1.4.1.1.2")
            .s(
                (0x0008, 0x0018),
                b"UI",
                &format!("1.2.3.9.{}", self.instance_number.unwrap_or(0)),
            )
            .s((0x0008, 0x0060), b"CS", "CT")
            .s((0x0010, 0x0010), b"PN", "TEST^PATIENT")
            .s((0x0010, 0x0020), b"LO", "ID1")
            .s((0x0020, 0x000D), b"UI", "1.2.3.1")
            .s((0x0020, 0x000E), b"UI", self.series_uid)
            .s((0x0020, 0x0011), b"IS", "3")
            .s((0x0020, 0x0037), b"DS", &ds_list(&self.orientation))
            .us((0x0028, 0x0002), 1)
            .s((0x0028, 0x0004), b"CS", self.photometric)
            .us((0x0028, 0x0010), self.rows)
            .us((0x0028, 0x0011), self.cols)
            .s((0x0028, 0x0030), b"DS", "0.5\\0.5")
            .us((0x0028, 0x0100), 16)
            .us((0x0028, 0x0101), 16)
            .us((0x0028, 0x0102), 15)
            .us((0x0028, 0x0103), 1)
            .s((0x0028, 0x1052), b"DS", &format!("{}", self.rescale.1))
            .s((0x0028, 0x1053), b"DS", &format!("{}", self.rescale.0))
            .raw(
                (0x7FE0, 0x0010),
                b"OW",
                self.pixels.iter().flat_map(|p| p.to_le_bytes()).collect(),
                0,
            );
        if let Some(n) = self.instance_number {
            d = d.s((0x0020, 0x0013), b"IS", &n.to_string());
        }
        if let Some(p) = self.position {
            d = d.s((0x0020, 0x0032), b"DS", &ds_list(&p));
        }
        if let Some((c, w)) = self.window {
            d = d.s((0x0028, 0x1050), b"DS", &format!("{c}\\0")).s(
                (0x0028, 0x1051),
                b"DS",
                &format!("{w}\\1"),
            );
        }
        d
    }

    /// Part 10 file, explicit VR little endian.
    pub(crate) fn file(&self) -> Vec<u8> {
        self.ds().part10("1.2.840.10008.1.2.1")
    }
}
