#!/usr/bin/env python3
"""Batch driver over the reference decoder (../shared/oracle/decode_reference.py) for Lucent's lossy test.

usage: batch_decode.py ORACLE_DIR OUTDIR  < list of DICOM file paths, one per line

Decodes every file with decode_reference.decode() (the same plugin order and normalisation as
decode_reference.py: stored values, little-endian, unused bits removed, YBR kept as YBR), in a pool
of one worker per core, and writes OUTDIR/NNNN.npy: the whole array (frames, rows, cols[, samples]).
After each file, in input order, prints one tab-separated line to stdout:
  N <TAB> ok <TAB> plugin <TAB> path of the .npy
  N <TAB> error <TAB> - <TAB> message (when no plugin decoded it)
(a line-oriented format, so the Rust test needs no JSON parser and can compare while later files
are still decoding).
"""
import multiprocessing, os, sys, warnings


def work(job):
    index, path, outdir, oracle_dir = job
    warnings.filterwarnings("ignore")
    if oracle_dir not in sys.path:
        sys.path.insert(0, oracle_dir)
    import numpy as np
    import decode_reference

    try:
        arr, _, plugin = decode_reference.decode(path)
    except Exception as e:  # reported to the test, which fails on it
        message = " ".join(f"{type(e).__name__}: {e}".split())
        return f"{index}\terror\t-\t{message}"
    npy = os.path.join(outdir, f"{index:04d}.npy")
    np.save(npy, np.ascontiguousarray(arr))
    return f"{index}\tok\t{plugin}\t{npy}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    oracle_dir, outdir = os.path.abspath(sys.argv[1]), sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    files = [l.rstrip("\n") for l in sys.stdin if l.strip()]
    jobs = [(i, f, outdir, oracle_dir) for i, f in enumerate(files)]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with multiprocessing.Pool(workers) as pool:
        for result in pool.imap(work, jobs):
            print(result, flush=True)


if __name__ == "__main__":
    main()
