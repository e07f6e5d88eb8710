#!/usr/bin/env python3
"""Lookup-table cases for Lucent's tests/tests/luts.rs, written and decoded by pydicom.

usage: luts.py ORACLE_DIR OUTDIR

Writes small DICOM files with segmented Palette Color LUTs, Modality LUT Sequences and VOI LUT Sequences
(pydicom's writer), reads each back with pydicom and computes the image a viewer must show with pydicom's
own pipeline functions (pydicom.pixels.apply_color_lut, apply_modality_lut, apply_voi_lut), then maps it to
8-bit display values:

  palette      : apply_color_lut; 16-bit entries keep their high byte (entry >> 8)
  VOI LUT      : apply_voi_lut(apply_modality_lut(stored)), output 0..2^bits-1 scaled to 0..255
                 (round(v * 255 / (2^bits - 1)), half to even); MONOCHROME1 inverted
  window       : apply_modality_lut(stored), then the linear VOI function of the reference decoder
                 (ORACLE_DIR/decode_reference.py voi_linear, PS3.3 C.11.2.1.2.1, 0..255)

Each case is OUTDIR/NAME.dcm plus OUTDIR/NAME.npy (uint8, rows x columns x 4, RGBA with alpha 255). Prints
one tab-separated line per rendering to check, for a Rust test without a JSON parser:

  NAME <TAB> file.dcm <TAB> expected.npy <TAB> voi <TAB> default <TAB> label <TAB> what

voi: "default" (the viewer's default VOI) or "lut:N"; default: what the default VOI must be ("window" or
"lut:N", "-" for colour); label: the VOI LUT's expected name, "-" for none.

Known pydicom 3.0.2 deviations worked around here (each one said where it is used):
  - apply_voi with 8 bits per entry indexes the table through a uint8 array, so tables of more than 256
    entries wrap (input 256 reads entry 0). For such a table pydicom is given the same entries declared
    16-bit (the lookup is then pydicom's, the 8-bit display scaling is the rule above).
  - _expand_segmented_lut reads an indirect segment's offset as an entry index; the standard (C.7.9.2.3)
    says byte offset. They agree for 8-bit tables and for offset 0, which is what the cases here use;
    the 16-bit byte-offset reading is covered by viewer-core's unit tests.
"""
import os
import sys
import warnings

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    oracle_dir, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    sys.path.insert(0, oracle_dir)
    warnings.filterwarnings("ignore")
    os.makedirs(out, exist_ok=True)

    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from decode_reference import voi_linear

    rng = np.random.default_rng(20240601)
    uid_n = [0]

    def uid():
        uid_n[0] += 1
        return f"1.2.826.0.1.3680043.10.1234.{uid_n[0]}"

    def image(arr, pi, bits_stored=None, implicit=False):
        rows, cols = arr.shape
        signed = arr.dtype.kind == "i"
        ba = arr.dtype.itemsize * 8
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
        ds.file_meta.MediaStorageSOPInstanceUID = uid()
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.Modality = "OT"
        ds.PatientName = "LUT^TEST"
        ds.PatientID = "LUT"
        ds.StudyInstanceUID = uid()
        ds.SeriesInstanceUID = uid()
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = pi
        ds.Rows, ds.Columns = rows, cols
        ds.BitsAllocated = ba
        ds.BitsStored = bits_stored or ba
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if signed else 0
        ds.PixelData = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        return ds

    def words(v):
        return np.asarray(v, dtype="<u2").tobytes()

    def seg_bytes(v):
        b = bytes(np.asarray(v, dtype="u1"))
        return b + b"\0" if len(b) % 2 else b

    def lut_item(desc, data, vr="US", desc_vr="US", explanation=None, lut_type=None):
        it = Dataset()
        it.add_new(0x00283002, desc_vr, list(desc))
        if explanation is not None:
            it.add_new(0x00283003, "LO", explanation)
        if lut_type is not None:
            it.add_new(0x00283004, "LO", lut_type)
        it.add_new(0x00283006, vr, words(data) if vr == "OW" else [int(x) for x in data])
        return it

    lines = []

    def save(name, ds):
        path = os.path.join(out, f"{name}.dcm")
        ds.save_as(path, enforce_file_format=True)
        back = pydicom.dcmread(path)
        return path, back, back.pixel_array

    def emit(name, path, rgba, voi, default, label, what):
        npy = os.path.join(out, f"{name}.{voi.replace(':', '')}.npy")
        np.save(npy, np.ascontiguousarray(rgba.astype(np.uint8)))
        lines.append("\t".join([name, path, npy, voi, default, label, what]))

    def rgba_grey(g):
        g = g.astype(np.uint8)
        return np.stack([g, g, g, np.full_like(g, 255)], axis=-1)

    def rgba_colour(rgb):
        if rgb.dtype == np.uint16:
            rgb = rgb >> 8
        rgb = rgb.astype(np.uint8)
        return np.concatenate([rgb, np.full(rgb.shape[:-1] + (1,), 255, np.uint8)], axis=-1)

    def lut_display(v, bits, invert):
        g = np.clip(np.round(v.astype(np.float64) * 255.0 / (2**bits - 1)), 0, 255).astype(np.uint8)
        return 255 - g if invert else g

    def palette(name, arr, desc, channels, segmented, desc_vr="US", implicit=False, what=""):
        ds = image(arr, "PALETTE COLOR", implicit=implicit)
        for colour, data in zip(("Red", "Green", "Blue"), channels):
            tag_d = {"Red": 0x00281101, "Green": 0x00281102, "Blue": 0x00281103}[colour]
            ds.add_new(tag_d, desc_vr, list(desc))
            if segmented:
                tag = {"Red": 0x00281221, "Green": 0x00281222, "Blue": 0x00281223}[colour]
                ds.add_new(tag, "OW", seg_bytes(data) if desc[2] == 8 else words(data))
            else:
                tag = {"Red": 0x00281201, "Green": 0x00281202, "Blue": 0x00281203}[colour]
                ds.add_new(tag, "OW", words(data))
        path, back, stored = save(name, ds)
        emit(name, path, rgba_colour(apply_color_lut(stored, back)), "default", "-", "-",
             f"apply_color_lut: {what}")

    # ---- segmented palettes ------------------------------------------------------------------------------
    # 8-bit entries: discrete, linear, an indirect copy of the first two segments (byte offset 0), more
    # linear; ramp; random discrete values with an indirect copy of the second segment (byte offset 152).
    every8 = np.arange(256, dtype=np.uint8).reshape(16, 16)
    r = [0, 3, 10, 20, 30, 1, 100, 200, 2, 2, 0, 0, 0, 0, 1, 50, 0]
    g = [0, 1, 0, 1, 255, 255]
    b = [0, 150, *rng.integers(0, 256, 150), 0, 50, *rng.integers(0, 256, 50),
         2, 1, 152, 0, 0, 0, 1, 6, 7]
    palette("palette-seg8", every8, (256, 0, 8), (r, g, b), True,
            what="8-bit segmented (discrete, linear, indirect), 256 entries")

    # 16-bit entries, 65536 entries (descriptor 0), every stored value of a 16-bit image once.
    every16 = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    r = [0, 1, 0, 1, 65535, 65535]
    g = [0, 2, 65535, 0, 1, 30000, 60000, 1, 35534, 100]
    b = [0, 1, 5000, 1, 1000, 65535, 2, 2, 0, 0, 1, 63534, 0]
    palette("palette-seg16", every16, (0, 0, 16), (r, g, b), True,
            what="16-bit segmented, descriptor 0 = 65536 entries, indirect at offset 0")

    # Signed pixels, first mapped value -100 (SS), values below and above the table.
    signed = np.arange(-250, 262, dtype=np.int16).reshape(16, 32)
    r = [0, 1, 0, 1, 399, 65535]
    g = [0, 200, *rng.integers(0, 65536, 200), 1, 200, 0]
    b = [0, 1, 100, 2, 1, 0, 0, 1, 398, 9000]
    palette("palette-seg16-signed", signed, (400, -100, 16), (r, g, b), True, desc_vr="SS",
            what="signed pixels, first mapped -100 (SS), clamped below and above")
    palette("palette-seg16-signed-implicit", signed, (400, -100, 16), (r, g, b), True, desc_vr="SS",
            implicit=True, what="the same in implicit VR (descriptor read as US, signed by Pixel Representation)")

    # A plain 16-bit palette with first mapped 10 (values below and above the table clamp).
    plain = [rng.integers(0, 65536, 300) for _ in range(3)]
    palette("palette-plain16", every8, (300, 10, 16), plain, False,
            what="plain 16-bit data, 300 entries from 10")

    # ---- Modality LUT ------------------------------------------------------------------------------------
    def grey_case(name, ds, vois, what):
        """vois: list of (voi spec, expected default, label, function of (stored, dataset) -> 0..255)."""
        path, back, stored = save(name, ds)
        for voi, default, label, f in vois:
            emit(name, path, rgba_grey(f(stored, back)), voi, default, label, what)

    def window_of(ds):
        c = ds.WindowCenter
        w = ds.WindowWidth
        c = float(c[0] if isinstance(c, pydicom.multival.MultiValue) else c)
        w = float(w[0] if isinstance(w, pydicom.multival.MultiValue) else w)
        return c, w

    def with_file_window(invert=False):
        def f(stored, ds):
            c, w = window_of(ds)
            return voi_linear(apply_modality_lut(stored, ds).astype(np.float64), c, w, invert)
        return f

    def with_range_window(invert=False):
        # no window in the file: Lucent's default is the linear window over the frame's modality range,
        # min -> 0 and max -> 255 (center (lo + hi + 1) / 2, width hi - lo + 1)
        def f(stored, ds):
            m = apply_modality_lut(stored, ds).astype(np.float64)
            lo, hi = m.min(), m.max()
            return voi_linear(m, (lo + hi + 1) / 2, hi - lo + 1, invert)
        return f

    def with_voi_lut(index, invert=False, widen8=False):
        def f(stored, ds):
            m = apply_modality_lut(stored, ds)
            bits = int(ds.VOILUTSequence[index].LUTDescriptor[2])
            if widen8:
                # pydicom's uint8 index wraps for > 256 entries: same entries, declared 16-bit, for the lookup
                ds.VOILUTSequence[index].LUTDescriptor = [*ds.VOILUTSequence[index].LUTDescriptor[:2], 16]
            v = apply_voi_lut(m, ds, index=index)
            return lut_display(v, bits, invert)
        return f

    every12 = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    curve = np.round(np.sqrt(np.arange(4096) / 4095.0) * 60000).astype(int)
    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.ModalityLUTSequence = [lut_item((4096, 0, 16), curve, lut_type="OD", explanation="sqrt curve")]
    grey_case("modality-lut16", ds, [("default", "window", "-", with_range_window())],
              "apply_modality_lut (4096 16-bit entries, US data), default window over its output range")

    table = rng.integers(0, 65536, 1000)
    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.ModalityLUTSequence = [lut_item((1000, 500, 16), table, vr="OW", lut_type="US")]
    ds.WindowCenter, ds.WindowWidth = 30000, 40000
    grey_case("modality-lut-window", ds, [("default", "window", "-", with_file_window())],
              "apply_modality_lut (1000 entries from 500, OW data, clamped), then the file's window")
    ds = image(every12, "MONOCHROME2", bits_stored=12, implicit=True)
    ds.ModalityLUTSequence = [lut_item((1000, 500, 16), table, vr="OW")]
    ds.WindowCenter, ds.WindowWidth = 30000, 40000
    grey_case("modality-lut-implicit", ds, [("default", "window", "-", with_file_window())],
              "the same in implicit VR little endian")

    signed12 = np.arange(-300, 300, dtype=np.int16).reshape(20, 30)
    ds = image(signed12, "MONOCHROME2")
    ds.ModalityLUTSequence = [lut_item((256, -128, 8), rng.integers(0, 256, 256), desc_vr="SS")]
    ds.WindowCenter, ds.WindowWidth = 128, 200
    grey_case("modality-lut8-signed", ds, [("default", "window", "-", with_file_window())],
              "apply_modality_lut (8-bit entries one per word, first mapped -128 SS, signed pixels)")

    # ---- VOI LUT -----------------------------------------------------------------------------------------
    sigmoid = np.round(65535 / (1 + np.exp(-(np.arange(4096) - 1500) / 300.0))).astype(int)
    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.VOILUTSequence = [lut_item((4096, -1024, 16), sigmoid, desc_vr="SS", explanation="SOFT TISSUE")]
    grey_case("voi-lut16", ds, [("default", "lut:0", "SOFT TISSUE", with_voi_lut(0))],
              "apply_voi_lut after the rescale (first mapped -1024 SS, 16-bit), the default with no window")

    ds = image(every8, "MONOCHROME1")
    ds.VOILUTSequence = [lut_item((256, 0, 8), rng.integers(0, 256, 256))]
    grey_case("voi-lut8-mono1", ds, [("default", "lut:0", "VOI LUT", with_voi_lut(0, invert=True))],
              "apply_voi_lut, 8-bit entries one per word, MONOCHROME1 inverted, unnamed")

    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.VOILUTSequence = [lut_item((4096, 0, 12), (4095 - np.arange(4096)) // 2 + 1000)]
    grey_case("voi-lut12", ds, [("default", "lut:0", "VOI LUT", with_voi_lut(0))],
              "apply_voi_lut, 12 bits per entry (output 0..4095)")

    ramp8 = np.minimum(np.arange(4096) // 12, 255)
    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.VOILUTSequence = [lut_item((4096, 0, 8), ramp8, vr="OW", explanation="8-bit, 4096 entries")]
    grey_case("voi-lut8-4096", ds, [("default", "lut:0", "8-bit, 4096 entries", with_voi_lut(0, widen8=True))],
              "apply_voi_lut, 4096 8-bit entries one per word (pydicom's uint8 index worked around, see top)")

    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.WindowCenter, ds.WindowWidth = 2000, 3000
    ds.VOILUTSequence = [
        lut_item((2048, 1000, 16), np.linspace(0, 65535, 2048).round().astype(int), explanation="LINEAR"),
        lut_item((4096, 0, 16), sigmoid, vr="OW", explanation="SIGMOID"),
    ]
    grey_case("voi-two-luts-and-window", ds, [
        ("default", "window", "-", with_file_window()),
        ("lut:0", "window", "LINEAR", with_voi_lut(0)),
        ("lut:1", "window", "SIGMOID", with_voi_lut(1)),
    ], "a window and two VOI LUTs: the window first, either LUT selectable")

    ds = image(every12, "MONOCHROME2", bits_stored=12, implicit=True)
    ds.VOILUTSequence = [lut_item((3000, 100, 16), rng.integers(0, 65536, 3000), explanation="IMPLICIT")]
    grey_case("voi-lut-implicit", ds, [("default", "lut:0", "IMPLICIT", with_voi_lut(0))],
              "apply_voi_lut in implicit VR (LUT Data read as OW), first mapped 100, clamped")

    ds = image(every12, "MONOCHROME2", bits_stored=12)
    ds.ModalityLUTSequence = [lut_item((4096, 0, 16), (curve // 15).astype(int))]
    ds.VOILUTSequence = [lut_item((4001, 0, 16), sigmoid[:4001][::-1], explanation="AFTER MODALITY LUT")]
    grey_case("modality-and-voi-lut", ds, [("default", "lut:0", "AFTER MODALITY LUT", with_voi_lut(0))],
              "apply_modality_lut then apply_voi_lut on its output")

    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
