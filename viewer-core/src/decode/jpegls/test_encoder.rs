//! A small JPEG-LS encoder (T.87 Annex A, encoder side), for tests only: it writes
//! codestreams with every feature the decoder supports (interleave modes, near-lossless,
//! preset parameters, restart intervals) so that round trips exercise the decoder.
//! Bit-exactness with the independent decoders is proven by the corpus tests.

use super::default_thresholds;

const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

#[derive(Debug, Clone, Copy)]
pub(crate) struct EncodeParams {
    pub precision: u8,
    pub components: usize,
    pub width: usize,
    pub height: usize,
    pub near: i32,
    pub ilv: u8,
    pub restart_interval: u16,
    /// Preset parameters written in an LSE segment (0 = default), or None for no LSE.
    pub preset: Option<(i32, i32, i32, i32, i32)>,
}

struct BitWriter {
    out: Vec<u8>,
    cur: u32,
    n: u32,
    last_ff: bool,
}

impl BitWriter {
    fn bit(&mut self, b: u32) {
        self.cur = (self.cur << 1) | (b & 1);
        self.n += 1;
        let cap = if self.last_ff { 7 } else { 8 };
        if self.n == cap {
            let byte = self.cur as u8;
            self.out.push(byte);
            self.last_ff = byte == 0xFF;
            self.cur = 0;
            self.n = 0;
        }
    }
    fn bits(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bit(v.checked_shr(i).unwrap_or(0) & 1);
        }
    }
    fn flush(&mut self) {
        while self.n != 0 {
            self.bit(0);
        }
        if self.last_ff {
            // a trailing 0xFF must not be taken for the first byte of the next marker
            self.out.push(0);
            self.last_ff = false;
        }
    }
}

#[derive(Clone, Copy)]
struct Ctx {
    a: i32,
    b: i32,
    c: i32,
    n: i32,
}

#[derive(Clone, Copy)]
struct RunCtx {
    ritype: i32,
    a: i32,
    n: i32,
    nn: i32,
}

struct Enc {
    w: BitWriter,
    maxval: i32,
    near: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
    reset: i32,
    t: (i32, i32, i32),
    ctx: Vec<Ctx>,
    run: [RunCtx; 2],
    a_init: i32,
}

fn ceil_log2(n: i32) -> u32 {
    let mut x = 0;
    while n > (1 << x) {
        x += 1;
    }
    x
}

fn predict(ra: i32, rb: i32, rc: i32) -> i32 {
    if rc >= ra.max(rb) {
        ra.min(rb)
    } else if rc <= ra.min(rb) {
        ra.max(rb)
    } else {
        ra + rb - rc
    }
}

impl Enc {
    fn reset_ctx(&mut self) {
        self.ctx = vec![
            Ctx {
                a: self.a_init,
                b: 0,
                c: 0,
                n: 1
            };
            365
        ];
        self.run = [
            RunCtx {
                ritype: 0,
                a: self.a_init,
                n: 1,
                nn: 0,
            },
            RunCtx {
                ritype: 1,
                a: self.a_init,
                n: 1,
                nn: 0,
            },
        ];
    }
    fn q(&self, d: i32) -> i32 {
        let (t1, t2, t3) = self.t;
        let near = self.near;
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
    fn quantize(&self, e: i32) -> i32 {
        let d = 2 * self.near + 1;
        if e > 0 {
            (e + self.near) / d
        } else {
            -(self.near - e) / d
        }
    }
    fn modulo(&self, mut e: i32) -> i32 {
        if e < 0 {
            e += self.range;
        }
        if e >= (self.range + 1) / 2 {
            e -= self.range;
        }
        e
    }
    fn reconstruct(&self, p: i32, e: i32) -> i32 {
        let d = 2 * self.near + 1;
        let mut v = p + e * d;
        if v < -self.near {
            v += self.range * d;
        } else if v > self.maxval + self.near {
            v -= self.range * d;
        }
        v.clamp(0, self.maxval)
    }
    fn golomb(&mut self, k: u32, mapped: i32, limit: u32) {
        let high = (mapped >> k) as u32;
        let max = limit - self.qbpp - 1;
        if high < max {
            self.w.bits(0, high);
            self.w.bit(1);
            self.w.bits(mapped as u32 & ((1 << k) - 1), k);
        } else {
            for _ in 0..max {
                self.w.bit(0);
            }
            self.w.bit(1);
            self.w.bits((mapped - 1) as u32, self.qbpp);
        }
    }
    /// Encode one regular-mode sample; returns the reconstructed value.
    fn regular(&mut self, qs: i32, pred: i32, x: i32) -> i32 {
        let sign = if qs < 0 { -1 } else { 1 };
        let qi = (qs * sign) as usize;
        let c = self.ctx[qi];
        let px = (pred + sign * c.c).clamp(0, self.maxval);
        let mut e = (x - px) * sign;
        if self.near > 0 {
            e = self.quantize(e);
        }
        let e = self.modulo(e);
        let rx = self.reconstruct(px, e * sign);
        let mut k = 0;
        while (c.n << k) < c.a {
            k += 1;
        }
        let e2 = if self.near == 0 && k == 0 && 2 * c.b + c.n - 1 < 0 {
            !e
        } else {
            e
        };
        let mapped = if e2 >= 0 { 2 * e2 } else { -2 * e2 - 1 };
        self.golomb(k, mapped, self.limit);
        let reset = self.reset;
        let near = self.near;
        let c = &mut self.ctx[qi];
        c.a += e.abs();
        c.b += e * (2 * near + 1);
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
        rx
    }
    fn run_length(&mut self, mut run: usize, end_of_line: bool, ri: &mut usize) {
        while run >= (1 << J[*ri]) {
            self.w.bit(1);
            run -= 1 << J[*ri];
            if *ri < 31 {
                *ri += 1;
            }
        }
        if end_of_line {
            if run != 0 {
                self.w.bit(1);
            }
        } else {
            self.w.bit(0);
            self.w.bits(run as u32, J[*ri]);
        }
    }
    /// Encode a run interruption sample; returns the reconstructed value.
    fn interruption(&mut self, which: usize, pred: i32, negate: bool, x: i32, ri: usize) -> i32 {
        let s = if negate { -1 } else { 1 };
        let mut e = (x - pred) * s;
        if self.near > 0 {
            e = self.quantize(e);
        }
        let e = self.modulo(e);
        let rx = self.reconstruct(pred, e * s);
        let rc = self.run[which];
        let temp = rc.a + (rc.n >> 1) * rc.ritype;
        let mut k = 0;
        let mut nt = rc.n;
        while nt < temp {
            nt <<= 1;
            k += 1;
        }
        let map = (k == 0 && e > 0 && 2 * rc.nn < rc.n)
            || (e < 0 && 2 * rc.nn >= rc.n)
            || (e < 0 && k != 0);
        let emapped = 2 * e.abs() - rc.ritype - i32::from(map);
        self.golomb(k, emapped, self.limit - J[ri] - 1);
        let reset = self.reset;
        let rc = &mut self.run[which];
        if e < 0 {
            rc.nn += 1;
        }
        rc.a += (emapped + 1 - rc.ritype) >> 1;
        if rc.n == reset {
            rc.a >>= 1;
            rc.n >>= 1;
            rc.nn >>= 1;
        }
        rc.n += 1;
        rx
    }
}

/// Encode `img` (`width * height * components` interleaved samples). Returns the
/// codestream and the values a decoder must reconstruct (equal to `img` when lossless).
pub(crate) fn encode(img: &[u16], p: &EncodeParams) -> (Vec<u8>, Vec<u16>) {
    let nc = p.components;
    let (w, h) = (p.width, p.height);
    let full = (1i32 << p.precision) - 1;
    let (pmax, pt1, pt2, pt3, preset_reset) = p.preset.unwrap_or((0, 0, 0, 0, 0));
    let maxval = if pmax != 0 { pmax } else { full };
    let (d1, d2, d3) = default_thresholds(maxval, p.near);
    let t = (
        if pt1 != 0 { pt1 } else { d1 },
        if pt2 != 0 { pt2 } else { d2 },
        if pt3 != 0 { pt3 } else { d3 },
    );
    let reset = if preset_reset != 0 { preset_reset } else { 64 };
    let range = (maxval + 2 * p.near) / (2 * p.near + 1) + 1;
    let bpp = ceil_log2(maxval + 1).max(2);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xF7];
    let lf = 8 + 3 * nc as u16;
    out.extend_from_slice(&lf.to_be_bytes());
    out.push(p.precision);
    out.extend_from_slice(&(h as u16).to_be_bytes());
    out.extend_from_slice(&(w as u16).to_be_bytes());
    out.push(nc as u8);
    for c in 0..nc {
        out.extend_from_slice(&[c as u8 + 1, 0x11, 0]);
    }
    if let Some((a, b, c, d, e)) = p.preset {
        out.extend_from_slice(&[0xFF, 0xF8, 0, 13, 1]);
        for v in [a, b, c, d, e] {
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
    }
    if p.restart_interval != 0 {
        out.extend_from_slice(&[0xFF, 0xDD, 0, 4]);
        out.extend_from_slice(&p.restart_interval.to_be_bytes());
    }
    let mut recon = vec![0u16; img.len()];
    let scans: Vec<Vec<usize>> = if p.ilv == 0 {
        (0..nc).map(|c| vec![c]).collect()
    } else {
        vec![(0..nc).collect()]
    };
    for comps in scans {
        let ns = comps.len();
        out.extend_from_slice(&[0xFF, 0xDA]);
        out.extend_from_slice(&(6 + 2 * ns as u16).to_be_bytes());
        out.push(ns as u8);
        for &c in &comps {
            out.extend_from_slice(&[c as u8 + 1, 0]);
        }
        out.extend_from_slice(&[p.near as u8, p.ilv, 0]);
        let mut e = Enc {
            w: BitWriter {
                out: Vec::new(),
                cur: 0,
                n: 0,
                last_ff: false,
            },
            maxval,
            near: p.near,
            range,
            qbpp: ceil_log2(range),
            limit: 2 * (bpp + bpp.max(8)),
            reset,
            t,
            ctx: Vec::new(),
            run: [RunCtx {
                ritype: 0,
                a: 0,
                n: 1,
                nn: 0,
            }; 2],
            a_init: ((range + 32) / 64).max(2),
        };
        e.reset_ctx();
        let sample = p.ilv == 2 && ns > 1;
        let (planes, per) = if sample { (1, ns) } else { (ns, 1) };
        let stride = (w + 2) * per;
        let mut lines = vec![vec![vec![0i32; stride]; 2]; planes];
        let mut ri = vec![0usize; planes];
        let mut marker = 0u8;
        for y in 0..h {
            if p.restart_interval != 0 && y > 0 && y % usize::from(p.restart_interval) == 0 {
                e.w.flush();
                e.w.out.extend_from_slice(&[0xFF, 0xD0 + marker]);
                marker = (marker + 1) % 8;
                e.reset_ctx();
                for pl in lines.iter_mut() {
                    for l in pl.iter_mut() {
                        l.fill(0);
                    }
                }
                ri.fill(0);
            }
            for plane in 0..planes {
                let (pi, ci) = if y % 2 == 0 { (0, 1) } else { (1, 0) };
                let mut prev = std::mem::take(&mut lines[plane][pi]);
                let mut cur = std::mem::take(&mut lines[plane][ci]);
                for c in 0..per {
                    prev[(w + 1) * per + c] = prev[w * per + c];
                    cur[c] = prev[per + c];
                }
                let comp_of = |s: usize| if sample { comps[s] } else { comps[plane] };
                let px = |x: usize, s: usize| i32::from(img[(y * w + x) * nc + comp_of(s)]);
                let mut i = 1;
                while i <= w {
                    let mut qs = [0i32; 4];
                    for (c, q) in qs.iter_mut().enumerate().take(per) {
                        let ra = cur[(i - 1) * per + c];
                        let rc = prev[(i - 1) * per + c];
                        let rb = prev[i * per + c];
                        let rd = prev[(i + 1) * per + c];
                        *q = (e.q(rd - rb) * 9 + e.q(rb - rc)) * 9 + e.q(rc - ra);
                    }
                    if qs[..per].iter().any(|&q| q != 0) {
                        for c in 0..per {
                            let ra = cur[(i - 1) * per + c];
                            let rc = prev[(i - 1) * per + c];
                            let rb = prev[i * per + c];
                            cur[i * per + c] = e.regular(qs[c], predict(ra, rb, rc), px(i - 1, c));
                        }
                        i += 1;
                        continue;
                    }
                    let ra: Vec<i32> = cur[(i - 1) * per..i * per].to_vec();
                    let mut run = 0;
                    while i + run <= w
                        && (0..per).all(|c| (px(i + run - 1, c) - ra[c]).abs() <= p.near)
                    {
                        for c in 0..per {
                            cur[(i + run) * per + c] = ra[c];
                        }
                        run += 1;
                    }
                    let end = i + run;
                    e.run_length(run, end > w, &mut ri[plane]);
                    if end > w {
                        i = end;
                        continue;
                    }
                    for c in 0..per {
                        let rb = prev[end * per + c];
                        let x = px(end - 1, c);
                        cur[end * per + c] = if per == 1 && (ra[c] - rb).abs() <= p.near {
                            e.interruption(1, ra[c], false, x, ri[plane])
                        } else {
                            e.interruption(0, rb, ra[c] > rb, x, ri[plane])
                        };
                    }
                    ri[plane] = ri[plane].saturating_sub(1);
                    i = end + 1;
                }
                for x in 0..w {
                    for c in 0..per {
                        recon[(y * w + x) * nc + comp_of(c)] = cur[(x + 1) * per + c] as u16;
                    }
                }
                lines[plane][pi] = prev;
                lines[plane][ci] = cur;
            }
        }
        e.w.flush();
        out.extend_from_slice(&e.w.out);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    (out, recon)
}
