"""Re-encode native DICOM files with Deflated Image Frame Compression (1.2.840.10008.1.2.8.1).

Usage: python deflate_frames.py OUT_DIR [--long] FILE...   (pydicom, from the oracle's venv)
--long: each frame gets 64 extra bytes before compression (a file the decoder must refuse).

Each frame's native little-endian bytes (1-bit frames packed from their own first bit, PS3.5 8.1.1) are
compressed with raw deflate (zlib, wbits=-15) and encapsulated with an empty basic offset table; the
rest of the data set is kept. Prints one line per file: OUT_PATH. The pixel values are the original
file's, so the reference decode of the original (EXPECTED.tsv) is the expected decode of the output.
"""
import os
import sys
import zlib

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.pixels.utils import pack_bits

TS = "1.2.840.10008.1.2.8.1"


def frames_of(ds):
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp = int(ds.get("SamplesPerPixel", 1))
    n = int(ds.get("NumberOfFrames", 1) or 1)
    ba = int(ds.BitsAllocated)
    data = ds.PixelData
    if ba == 1:
        bits = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        per = rows * cols * spp
        return [pack_bits(bits[i * per:(i + 1) * per], pad=False) for i in range(n)]
    per = rows * cols * spp * ba // 8
    return [data[i * per:(i + 1) * per] for i in range(n)]


def main():
    out_dir = sys.argv[1]
    files = sys.argv[2:]
    extra = b""
    if files and files[0] == "--long":
        files, extra = files[1:], bytes(64)
    for i, path in enumerate(files):
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1", path
        fragments = []
        for frame in frames_of(ds):
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            fragments.append(c.compress(bytes(frame) + extra) + c.flush())
        ds.PixelData = encapsulate(fragments, has_bot=False)
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        # pydicom 3.0 does not know this transfer syntax: write under an encapsulated one whose UID has
        # the same even length (22 bytes: JPEG baseline), then put the real UID (21 + NUL pad) in its place.
        stand_in = "1.2.840.10008.1.2.4.50"
        ds.file_meta.TransferSyntaxUID = stand_in
        out = os.path.join(out_dir, f"{i}-{os.path.basename(path)}")
        ds.save_as(out, enforce_file_format=True, little_endian=True, implicit_vr=False)
        with open(out, "rb") as f:
            data = f.read()
        at = data.index(stand_in.encode(), 132)
        assert at < 132 + 400, "stand-in UID outside the file meta"
        with open(out, "wb") as f:
            f.write(data[:at] + TS.encode() + b"\0" + data[at + len(stand_in):])
        print(out, flush=True)


if __name__ == "__main__":
    main()
