#!/usr/bin/env python3
"""Read an nti-gpu sample file (`.ntis`, versions 1 and 2) with numpy.

    from read_ntis import read_ntis
    header, positions = read_ntis("out/quick/samples_N40.ntis")
    positions.shape        # (frames, replicas, N, 3), float32, wrapped into [0, L)

From the command line, prints the header and the array's shape:

    python3 scripts/read_ntis.py [--no-verify] out/quick/samples_N40.ntis

The format is described in docs/ntis.md. Checks the magic, the version, the dtype code,
the file size against the header and (version 2) the checksum; raises ValueError
otherwise. Needs numpy only.
"""

import struct
import sys

import numpy as np

MAGIC = b"NTISAMP\0"
HEADER_BYTES = 80
CHECKSUM_AT = 76
DTYPE_F32_XYZ = 1

# Header fields after the magic: (name, byte offset, struct format), all little-endian.
FIELDS = [
    ("version", 8, "<I"),
    ("header_bytes", 12, "<I"),
    ("scene_hash", 16, "<Q"),
    ("n", 24, "<I"),
    ("replicas", 28, "<I"),
    ("frames", 32, "<I"),
    ("dtype", 36, "<I"),
    ("box_length", 40, "<d"),
    ("temperature", 48, "<d"),
    ("epsilon", 56, "<d"),
    ("sigma", 64, "<d"),
    ("sample_every", 72, "<I"),
    ("checksum", 76, "<I"),
]

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1


def fnv1a64(data, h=_FNV_OFFSET):
    """FNV-1a 64 of the bytes `data`, continuing from the hash `h`. The hash is sequential
    byte by byte (h = (h ^ byte) * prime mod 2^64), so this is a plain Python loop, under
    a second per MB."""
    prime, mask = _FNV_PRIME, _MASK64
    for byte in data:
        h = ((h ^ byte) * prime) & mask
    return h


def checksum(raw):
    """The `.ntis` checksum: FNV-1a 64 over the whole file with bytes 76..80 (the checksum
    field) read as zero, its two 32-bit halves XORed."""
    h = fnv1a64(raw[:CHECKSUM_AT])
    h = fnv1a64(b"\0\0\0\0", h)
    h = fnv1a64(raw[CHECKSUM_AT + 4:], h)
    return (h ^ (h >> 32)) & 0xFFFFFFFF


def read_ntis(path, verify=True):
    """Returns (header dict, positions) of the `.ntis` file at `path`.

    positions: float32 array of shape (frames, replicas, N, 3): frame f of replica b is
    positions[f, b]; consecutive frames of a replica are `sample_every` MD steps apart and
    replicas are independent. With verify=False the checksum is not computed (it is the
    slow part: a Python loop over the bytes, under a second per MB)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < HEADER_BYTES or raw[:8] != MAGIC:
        raise ValueError(f"{path}: not an nti-gpu sample file (bad magic)")
    header = {name: struct.unpack_from(fmt, raw, off)[0] for name, off, fmt in FIELDS}
    version = header["version"]
    if version not in (1, 2):
        raise ValueError(f"{path}: sample file version {version}; this reader knows 1 and 2")
    if header["dtype"] != DTYPE_F32_XYZ:
        raise ValueError(f"{path}: unknown dtype code {header['dtype']}")
    hb, n, b, fr = header["header_bytes"], header["n"], header["replicas"], header["frames"]
    expected = hb + fr * b * n * 12
    if hb < HEADER_BYTES or len(raw) != expected:
        raise ValueError(
            f"{path}: size {len(raw)} does not match header "
            f"(N = {n}, B = {b}, F = {fr}: {expected} bytes)"
        )
    if version == 1:
        header["checksum"] = None  # bytes 76..80 are reserved (0) in version 1
    elif verify:
        got = checksum(raw)
        if got != header["checksum"]:
            raise ValueError(
                f"{path}: checksum mismatch (file says {header['checksum']:#010x}, "
                f"contents give {got:#010x}): altered or damaged after it was written"
            )
    positions = np.frombuffer(raw, dtype="<f4", offset=hb).reshape(fr, b, n, 3)
    return header, positions


def main(argv):
    args = [a for a in argv[1:] if a != "--no-verify"]
    if len(args) != 1 or args[0].startswith("-"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        header, x = read_ntis(args[0], verify="--no-verify" not in argv)
    except (OSError, ValueError) as e:
        print(f"read_ntis: {e}", file=sys.stderr)
        return 1
    for k, v in header.items():
        if k == "scene_hash":
            v = f"{v:016x}"
        elif k == "checksum" and v is not None:
            v = f"{v:#010x}" + (" (verified)" if "--no-verify" not in argv else "")
        print(f"{k:13} {v}")
    print(f"positions     {x.dtype} {x.shape} (frames, replicas, N, xyz)")
    L = header["box_length"]
    print(f"range         [{x.min():.4f}, {x.max():.4f}] in a box of L = {L}")
    print(f"density       {header['n'] / L**3:.4f} per sigma^3 (sigma = {header['sigma']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
