//! JPEG-LS scan decoding (ITU-T T.87 Annex A): context modelling, limited-length Golomb
//! codes, run mode, near-lossless reconstruction, restart intervals, and the three
//! interleave modes. The decoder follows the reference behaviour of CharLS, which is what
//! the independent decoders (GDCM, pyjpegls, DCMTK) share, including the sample-interleave
//! run interruption (every component coded with the RItype 0 context).
//!
//! Hostile input never panics: every loop is bounded by the image size or by LIMIT, the
//! context statistics are checked against fixed bounds, and errors found inside the hot
//! loops are recorded in sticky flags that are checked after each line.

use crate::error::Error;

/// Run-length order table (T.87 A.2.1, J[0..31]).
const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

/// Largest Golomb parameter a valid 16-bit codestream can need.
const MAX_K: u32 = 16;
/// Bound of the context statistics A and |B| (beyond it the data cannot be valid).
const STAT_LIMIT: i32 = 1 << 24;

/// Parameters of one scan, resolved (defaults applied) and validated by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanParams {
    pub width: usize,
    pub height: usize,
    pub maxval: i32,
    pub near: i32,
    pub t1: i32,
    pub t2: i32,
    pub t3: i32,
    pub reset: i32,
    /// 0 none, 1 line, 2 sample.
    pub ilv: u8,
    /// Lines (MCU rows) per restart interval; 0 = none.
    pub restart_interval: u32,
}

/// Where decoded samples go: `data[(y * width + x) * components + component]`.
pub(crate) struct Output<'a> {
    pub data: &'a mut [u16],
    pub components: usize,
}

/// Bit reader over entropy-coded data with JPEG-LS bit stuffing (a 0xFF byte is followed
/// by a byte whose most significant bit is a stuffed 0; 0xFF followed by a byte >= 0x80
/// is a marker and ends the data).
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Valid bits are the top `nbits` bits; all bits below them are zero.
    cache: u64,
    nbits: u32,
    prev_ff: bool,
    /// More bits were consumed than the data holds.
    overrun: bool,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        let mut r = BitReader {
            data,
            pos,
            cache: 0,
            nbits: 0,
            prev_ff: false,
            overrun: false,
        };
        r.fill();
        r
    }

    #[inline]
    fn fill(&mut self) {
        // fast path: eight bytes without 0xFF
        if !self.prev_ff {
            if let Some(bytes) = self.data.get(self.pos..self.pos + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(bytes);
                let word = u64::from_be_bytes(w);
                // has-zero-byte test on the complement: any 0xFF byte?
                let inv = !word;
                let has_ff =
                    (inv.wrapping_sub(0x0101_0101_0101_0101) & !inv & 0x8080_8080_8080_8080) != 0;
                if !has_ff {
                    let n = (64 - self.nbits) / 8; // whole bytes that fit, >= 1
                    let keep = if n >= 8 {
                        word
                    } else {
                        word & !(u64::MAX >> (8 * n))
                    };
                    self.cache |= keep >> self.nbits;
                    self.nbits += 8 * n;
                    self.pos += n as usize;
                    return;
                }
            }
        }
        while self.nbits <= 56 {
            let Some(&b) = self.data.get(self.pos) else {
                return;
            };
            if self.prev_ff {
                // checked when the 0xFF was taken: b < 0x80, 7 bits
                self.cache |= u64::from(b & 0x7F) << (57 - self.nbits);
                self.nbits += 7;
                self.pos += 1;
                self.prev_ff = false;
                continue;
            }
            if b == 0xFF {
                match self.data.get(self.pos + 1) {
                    Some(&next) if next & 0x80 == 0 => self.prev_ff = true,
                    // a marker (or 0xFF as the last byte): the data ends here
                    _ => return,
                }
            }
            self.cache |= u64::from(b) << (56 - self.nbits);
            self.nbits += 8;
            self.pos += 1;
        }
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        if n > self.nbits {
            self.overrun = true;
            self.cache = 0;
            self.nbits = 0;
        } else {
            // n <= 64; a shift by 64 is not allowed
            self.cache = if n >= 64 { 0 } else { self.cache << n };
            self.nbits -= n;
        }
    }

    #[inline]
    fn read_bit(&mut self) -> bool {
        if self.nbits == 0 {
            self.fill();
        }
        let bit = self.cache >> 63 == 1;
        self.consume(1);
        bit
    }

    /// Read `n` bits (1..=32) as an unsigned value.
    #[inline]
    fn read_value(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        if self.nbits < n {
            self.fill();
        }
        let v = (self.cache >> (64 - n)) as i32;
        self.consume(n);
        v
    }

    /// Count zero bits up to the next 1 bit (consumed). `None` when more than `max`
    /// zeros follow or the data ends.
    #[inline]
    fn read_unary(&mut self, max: u32) -> Option<u32> {
        let mut count = 0u32;
        loop {
            if self.nbits < 32 {
                self.fill();
            }
            if self.cache != 0 {
                let lz = self.cache.leading_zeros();
                count += lz;
                self.consume(lz + 1);
                return (count <= max).then_some(count);
            }
            if self.nbits == 0 {
                self.overrun = true;
                return None;
            }
            count += self.nbits;
            let n = self.nbits;
            self.consume(n);
            if count > max {
                return None;
            }
        }
    }

    /// Byte position of the next marker at or after the current read position.
    fn next_marker(&self) -> Option<usize> {
        let mut i = self.pos;
        while i + 1 < self.data.len() {
            if self.data[i] == 0xFF && self.data[i + 1] >= 0x80 && self.data[i + 1] != 0xFF {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

#[derive(Debug, Clone, Copy)]
struct Context {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

#[derive(Debug, Clone, Copy)]
struct RunContext {
    ritype: i32,
    a: i32,
    n: i32,
    nn: i32,
}

struct Decoder<'a> {
    bits: BitReader<'a>,
    maxval: i32,
    near: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
    reset: i32,
    /// Gradient quantisation table, indexed by `d + maxval`.
    quant: Vec<i8>,
    a_init: i32,
    ctx: Vec<Context>,
    run_ctx: [RunContext; 2],
    /// Invalid entropy-coded data seen (sticky).
    bad: bool,
}

fn ceil_log2(n: i64) -> u32 {
    let mut x = 0u32;
    while x < 40 && n > (1i64 << x) {
        x += 1;
    }
    x
}

fn quantize_gradient(d: i32, t1: i32, t2: i32, t3: i32, near: i32) -> i8 {
    if d <= -t3 {
        -4
    } else if d <= -t2 {
        -3
    } else if d <= -t1 {
        -2
    } else if d < -near {
        -1
    } else if d <= near {
        0
    } else if d < t1 {
        1
    } else if d < t2 {
        2
    } else if d < t3 {
        3
    } else {
        4
    }
}

/// Smallest k with `n << k >= a` (T.87 code segment A.10); `None` above [`MAX_K`].
#[inline]
fn golomb_k(n: i32, a: i32) -> Option<u32> {
    // n >= 1 and a >= 0 always hold (both start positive and only grow or halve)
    let (n, a) = (n.max(1) as u32, a.max(0) as u32);
    if n >= a {
        return Some(0);
    }
    // bit lengths: n << d has the bit length of a, n << (d + 1) exceeds a
    let d = n.leading_zeros() - a.leading_zeros();
    let k = if (u64::from(n) << d) >= u64::from(a) {
        d
    } else {
        d + 1
    };
    (k <= MAX_K).then_some(k)
}

#[inline]
fn predict(ra: i32, rb: i32, rc: i32) -> i32 {
    if rc >= ra.max(rb) {
        ra.min(rb)
    } else if rc <= ra.min(rb) {
        ra.max(rb)
    } else {
        ra + rb - rc
    }
}

impl<'a> Decoder<'a> {
    fn new(data: &'a [u8], pos: usize, p: &ScanParams) -> Self {
        let range = (p.maxval + 2 * p.near) / (2 * p.near + 1) + 1;
        let bpp = ceil_log2(i64::from(p.maxval) + 1).max(2);
        let qbpp = ceil_log2(i64::from(range));
        let limit = 2 * (bpp + bpp.max(8));
        let quant = (-p.maxval..=p.maxval)
            .map(|d| quantize_gradient(d, p.t1, p.t2, p.t3, p.near))
            .collect();
        let a_init = ((range + 32) / 64).max(2);
        let mut d = Decoder {
            bits: BitReader::new(data, pos),
            maxval: p.maxval,
            near: p.near,
            range,
            qbpp,
            limit,
            reset: p.reset,
            quant,
            a_init,
            ctx: Vec::new(),
            run_ctx: [RunContext {
                ritype: 0,
                a: 0,
                n: 1,
                nn: 0,
            }; 2],
            bad: false,
        };
        d.reset_contexts();
        d
    }

    fn reset_contexts(&mut self) {
        let init = Context {
            a: self.a_init,
            b: 0,
            c: 0,
            n: 1,
        };
        self.ctx.clear();
        self.ctx.resize(365, init);
        for (t, rc) in self.run_ctx.iter_mut().enumerate() {
            *rc = RunContext {
                ritype: t as i32,
                a: self.a_init,
                n: 1,
                nn: 0,
            };
        }
    }

    #[inline]
    fn q(&self, d: i32) -> i32 {
        // samples are always within 0..=maxval, so d + maxval is within the table
        self.quant
            .get((d + self.maxval) as usize)
            .map_or(0, |&q| i32::from(q))
    }

    #[inline]
    fn context_id(&self, d1: i32, d2: i32, d3: i32) -> i32 {
        (self.q(d1) * 9 + self.q(d2)) * 9 + self.q(d3)
    }

    #[inline]
    fn clamp(&self, v: i32) -> i32 {
        v.clamp(0, self.maxval)
    }

    /// T.87 A.4.2 / code segment A.8 (decoder side) and clamping.
    #[inline]
    fn reconstruct(&self, predicted: i32, err: i32) -> i32 {
        let two_near1 = 2 * self.near + 1;
        let mut v = predicted + err * two_near1;
        if v < -self.near {
            v += self.range * two_near1;
        } else if v > self.maxval + self.near {
            v -= self.range * two_near1;
        }
        self.clamp(v)
    }

    /// Mapped error value of a limited-length Golomb code (T.87 A.5.3).
    #[inline]
    fn decode_mapped(&mut self, k: u32, limit: u32) -> i32 {
        let max_unary = limit.saturating_sub(self.qbpp + 1);
        let Some(u) = self.bits.read_unary(max_unary) else {
            self.bad = true;
            return 0;
        };
        if u < max_unary {
            if k == 0 {
                u as i32
            } else {
                ((u as i32) << k) + self.bits.read_value(k)
            }
        } else {
            self.bits.read_value(self.qbpp) + 1
        }
    }

    #[inline]
    fn decode_regular(&mut self, qs: i32, predicted: i32) -> i32 {
        let sign = qs >> 31;
        let index = ((qs ^ sign) - sign) as usize;
        let Some(&ctx) = self.ctx.get(index) else {
            self.bad = true;
            return 0;
        };
        let px = self.clamp(predicted + ((ctx.c ^ sign) - sign));
        let Some(k) = golomb_k(ctx.n, ctx.a) else {
            self.bad = true;
            return 0;
        };
        let mapped = self.decode_mapped(k, self.limit);
        let mut err = -(mapped & 1) ^ (mapped >> 1);
        if !(-65535..=65535).contains(&err) {
            self.bad = true;
            return 0;
        }
        if k == 0 && self.near == 0 {
            err ^= (2 * ctx.b + ctx.n - 1) >> 31;
        }
        self.update_context(index, err);
        self.reconstruct(px, (err ^ sign) - sign)
    }

    /// T.87 A.6.1 and A.6.2: context statistics and bias update.
    #[inline]
    fn update_context(&mut self, index: usize, err: i32) {
        let near = self.near;
        let reset = self.reset;
        let Some(c) = self.ctx.get_mut(index) else {
            return;
        };
        c.a += err.abs();
        c.b += err * (2 * near + 1);
        if c.a >= STAT_LIMIT || c.b.abs() >= STAT_LIMIT {
            self.bad = true;
            c.a = 1;
            c.b = 0;
        }
        if c.n == reset {
            c.a >>= 1;
            c.b >>= 1;
            c.n >>= 1;
        }
        c.n += 1;
        if c.b + c.n <= 0 {
            c.b += c.n;
            if c.b <= -c.n {
                c.b = -c.n + 1;
            }
            if c.c > -128 {
                c.c -= 1;
            }
        } else if c.b > 0 {
            c.b -= c.n;
            if c.b > 0 {
                c.b = 0;
            }
            if c.c < 127 {
                c.c += 1;
            }
        }
    }

    /// Length of a run of `pixel_count` remaining samples (T.87 A.7.1.2, decoder side).
    fn decode_run_length(&mut self, pixel_count: usize, run_index: &mut usize) -> usize {
        let mut index = 0usize;
        while self.bits.read_bit() {
            let j = J[*run_index & 31];
            let full = 1usize << j;
            let count = full.min(pixel_count - index);
            index += count;
            if count == full && *run_index < 31 {
                *run_index += 1;
            }
            if index == pixel_count {
                break;
            }
        }
        if index != pixel_count {
            let j = J[*run_index & 31];
            index += self.bits.read_value(j) as usize;
        }
        if index > pixel_count {
            self.bad = true;
            index = pixel_count;
        }
        index
    }

    /// Error value of a run interruption sample (T.87 A.7.2, decoder side).
    fn decode_ri_error(&mut self, which: usize, run_index: usize) -> i32 {
        let Some(&rc) = self.run_ctx.get(which) else {
            self.bad = true;
            return 0;
        };
        let temp = i64::from(rc.a) + i64::from((rc.n >> 1) * rc.ritype);
        let mut k = 0u32;
        let mut n_test = i64::from(rc.n);
        while n_test < temp {
            n_test <<= 1;
            k += 1;
            if k > MAX_K {
                self.bad = true;
                return 0;
            }
        }
        let limit = self.limit.saturating_sub(J[run_index & 31] + 1);
        let mapped = self.decode_mapped(k, limit);
        let t = mapped + rc.ritype;
        let map = t & 1 == 1;
        let abs = (t + i32::from(map)) / 2;
        let err = if (k != 0 || 2 * rc.nn >= rc.n) == map {
            -abs
        } else {
            abs
        };
        let reset = self.reset;
        let rc = &mut self.run_ctx[which & 1];
        if err < 0 {
            rc.nn += 1;
        }
        rc.a += (mapped + 1 - rc.ritype) >> 1;
        if rc.a >= STAT_LIMIT {
            self.bad = true;
            rc.a = 1;
        }
        if rc.n == reset {
            rc.a >>= 1;
            rc.n >>= 1;
            rc.nn >>= 1;
        }
        rc.n += 1;
        err
    }

    /// Run interruption sample of a single-component line.
    fn decode_ri_pixel(&mut self, ra: i32, rb: i32, run_index: usize) -> i32 {
        if (ra - rb).abs() <= self.near {
            let e = self.decode_ri_error(1, run_index);
            self.reconstruct(ra, e)
        } else {
            let e = self.decode_ri_error(0, run_index);
            let s = if rb - ra < 0 { -1 } else { 1 };
            self.reconstruct(rb, e * s)
        }
    }

    /// One line of one component; `prev` and `cur` hold `width + 2` samples with the
    /// edges at 0 and `width + 1`.
    fn decode_line_single(
        &mut self,
        prev: &[i32],
        cur: &mut [i32],
        width: usize,
        run_index: &mut usize,
    ) {
        if prev.len() < width + 2 || cur.len() < width + 2 {
            self.bad = true;
            return;
        }
        let mut i = 1usize;
        while i <= width {
            let ra = cur[i - 1];
            let rc = prev[i - 1];
            let rb = prev[i];
            let rd = prev[i + 1];
            let qs = self.context_id(rd - rb, rb - rc, rc - ra);
            if qs != 0 {
                cur[i] = self.decode_regular(qs, predict(ra, rb, rc));
                i += 1;
            } else {
                let run = self.decode_run_length(width - (i - 1), run_index);
                cur[i..i + run].fill(ra);
                let end = i + run;
                if end > width {
                    i = end;
                    continue;
                }
                cur[end] = self.decode_ri_pixel(ra, prev[end], *run_index);
                *run_index = run_index.saturating_sub(1);
                i = end + 1;
            }
            if self.bad {
                return;
            }
        }
    }

    /// One line of `nc` sample-interleaved components; buffers hold `(width + 2) * nc`.
    fn decode_line_sample(
        &mut self,
        prev: &[i32],
        cur: &mut [i32],
        width: usize,
        nc: usize,
        run_index: &mut usize,
    ) {
        if nc == 0 || nc > 4 || prev.len() < (width + 2) * nc || cur.len() < (width + 2) * nc {
            self.bad = true;
            return;
        }
        let mut i = 1usize;
        let mut qs = [0i32; 4];
        while i <= width {
            let mut all_zero = true;
            for c in 0..nc {
                let ra = cur[(i - 1) * nc + c];
                let rc = prev[(i - 1) * nc + c];
                let rb = prev[i * nc + c];
                let rd = prev[(i + 1) * nc + c];
                qs[c] = self.context_id(rd - rb, rb - rc, rc - ra);
                all_zero &= qs[c] == 0;
            }
            if !all_zero {
                for c in 0..nc {
                    let ra = cur[(i - 1) * nc + c];
                    let rc = prev[(i - 1) * nc + c];
                    let rb = prev[i * nc + c];
                    cur[i * nc + c] = self.decode_regular(qs[c], predict(ra, rb, rc));
                }
                i += 1;
            } else {
                let run = self.decode_run_length(width - (i - 1), run_index);
                let mut ra = [0i32; 4];
                ra[..nc].copy_from_slice(&cur[(i - 1) * nc..i * nc]);
                for p in i..i + run {
                    cur[p * nc..(p + 1) * nc].copy_from_slice(&ra[..nc]);
                }
                let end = i + run;
                if end > width {
                    i = end;
                    continue;
                }
                for (c, &ra_c) in ra.iter().enumerate().take(nc) {
                    let rb = prev[end * nc + c];
                    let e = self.decode_ri_error(0, *run_index);
                    let s = if rb - ra_c < 0 { -1 } else { 1 };
                    cur[end * nc + c] = self.reconstruct(rb, e * s);
                }
                *run_index = run_index.saturating_sub(1);
                i = end + 1;
            }
            if self.bad {
                return;
            }
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.bits.overrun {
            return Err(Error::corrupt("JPEG-LS scan data ends early"));
        }
        if self.bad {
            return Err(Error::corrupt("invalid JPEG-LS entropy-coded data"));
        }
        Ok(())
    }

    /// At a restart interval boundary: find RSTm, restart the bit reader after it.
    fn restart(&mut self) -> Result<(), Error> {
        let data = self.bits.data;
        let Some(m) = self.bits.next_marker() else {
            return Err(Error::corrupt("JPEG-LS restart marker missing"));
        };
        match data.get(m + 1) {
            Some(0xD0..=0xD7) => {}
            _ => return Err(Error::corrupt("JPEG-LS restart marker missing")),
        }
        self.bits = BitReader::new(data, m + 2);
        self.reset_contexts();
        Ok(())
    }
}

/// Decode one scan starting at `pos` (the first byte after the SOS segment) into `out`.
/// `components` are the frame component indices coded in this scan, in scan order.
/// Returns the position of the marker that ends the scan (or the data length).
pub(crate) fn decode_scan(
    data: &[u8],
    pos: usize,
    p: &ScanParams,
    components: &[usize],
    out: &mut Output<'_>,
) -> Result<usize, Error> {
    let w = p.width;
    let h = p.height;
    let nf = out.components;
    let ns = components.len();
    if ns == 0 || ns > 4 || w == 0 || h == 0 || components.iter().any(|&c| c >= nf) {
        return Err(Error::corrupt("JPEG-LS scan does not match the frame"));
    }
    let needed = w
        .checked_mul(h)
        .and_then(|v| v.checked_mul(nf))
        .ok_or_else(|| Error::limit("JPEG-LS image is too large"))?;
    if out.data.len() < needed {
        return Err(Error::corrupt("JPEG-LS scan does not match the frame"));
    }
    let sample_mode = p.ilv == 2 && ns > 1;
    // line buffers: one plane per component (none/line), one interleaved plane (sample)
    let (planes, per_plane) = if sample_mode { (1, ns) } else { (ns, 1) };
    let stride = (w + 2) * per_plane;
    let mut buf: Vec<i32> = Vec::new();
    buf.try_reserve_exact(2 * planes * stride)
        .map_err(|_| Error::limit("JPEG-LS line buffers do not fit in memory"))?;
    buf.resize(2 * planes * stride, 0);
    let mut run_index = [0usize; 4];
    let mut dec = Decoder::new(data, pos, p);
    let interval = if p.restart_interval == 0 {
        h
    } else {
        p.restart_interval as usize
    };
    let mut in_interval = 0usize;
    for y in 0..h {
        if in_interval == interval {
            dec.check()?;
            dec.restart()?;
            buf.fill(0);
            run_index = [0; 4];
            in_interval = 0;
        }
        in_interval += 1;
        for plane in 0..planes {
            // plane layout: [line A | line B], alternating roles by line parity
            let base = plane * 2 * stride;
            let (a, b) = buf[base..base + 2 * stride].split_at_mut(stride);
            let (prev, cur) = if y & 1 == 0 {
                (&mut *a, b)
            } else {
                (b, &mut *a)
            };
            for c in 0..per_plane {
                prev[(w + 1) * per_plane + c] = prev[w * per_plane + c];
                cur[c] = prev[per_plane + c];
            }
            let ri = &mut run_index[plane];
            if sample_mode {
                dec.decode_line_sample(prev, cur, w, ns, ri);
            } else {
                dec.decode_line_single(prev, cur, w, ri);
            }
            dec.check()?;
            let row = &mut out.data[y * w * nf..(y + 1) * w * nf];
            if sample_mode {
                for (x, px) in cur[per_plane..(w + 1) * per_plane]
                    .chunks_exact(per_plane)
                    .enumerate()
                {
                    for (s, &comp) in components.iter().enumerate() {
                        row[x * nf + comp] = px[s] as u16;
                    }
                }
            } else {
                let comp = components[plane];
                for (x, &v) in cur[1..=w].iter().enumerate() {
                    row[x * nf + comp] = v as u16;
                }
            }
        }
    }
    dec.check()?;
    Ok(dec.bits.next_marker().unwrap_or(data.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golomb_parameter_matches_the_reference_loop() {
        for n in 1..300 {
            for a in (0..5000).chain([1 << 20, (1 << 24) - 1]) {
                let mut k = 0u32;
                while (i64::from(n) << k) < i64::from(a) {
                    k += 1;
                }
                let expected = (k <= MAX_K).then_some(k);
                assert_eq!(golomb_k(n, a), expected, "n {n} a {a}");
            }
        }
    }

    #[test]
    fn bit_reader_unstuffs_and_stops_at_markers() {
        // FF 7F: 8 bits of FF, then 7 bits 1111111; then the marker FF D9 ends the data
        let data = [0xFF, 0x7F, 0xFF, 0xD9];
        let mut r = BitReader::new(&data, 0);
        assert_eq!(r.read_value(15), 0x7FFF);
        assert!(!r.overrun);
        assert_eq!(r.next_marker(), Some(2));
        let _ = r.read_value(1);
        assert!(r.overrun);
    }
}
