"""Writes the safetensors files of the LoadWeights tests (numpy only).

    st.py CASE OUT

`good` holds tiny.mlir's fc.weight [4, 8] and fc.bias [4] (f32) plus an
unused tensor and __metadata__; every other case breaks one thing the pass
checks. `f16` and `bf16` hold the weights of tiny-f16.mlir / tiny-bf16.mlir
and `unaligned` shifts the data by 2 bytes so that the pass has to copy it.
"""

import json
import struct
import sys

import numpy as np

W = (np.arange(32, dtype=np.float32).reshape(4, 8) - 16) / 8
B = np.array([0.5, -0.25, 0.125, 1.0], dtype=np.float32)


def header_bytes(header, pad=8):
    text = json.dumps(header).encode()
    return text + b" " * (-len(text) % pad)


def write(path, tensors, extra_header=None, lead=b""):
    header, blobs, offset = {}, [], len(lead)
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    header.update(extra_header or {})
    text = header_bytes(header)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + lead + b"".join(blobs))


def good():
    return {"fc.weight": ("F32", [4, 8], W.tobytes()),
            "fc.bias": ("F32", [4], B.tobytes()),
            "head.weight": ("F32", [2], np.ones(2, np.float32).tobytes())}


def bf16(a):
    bits = a.astype(np.float32).view(np.uint32)
    return (bits >> 16).astype(np.uint16).tobytes()  # exact for these values


def main():
    case, out = sys.argv[1], sys.argv[2]
    t = good()
    if case == "good":
        write(out, t, {"__metadata__": {"format": "pt"}})
    elif case == "unaligned":
        write(out, t, lead=b"\0\0")
    elif case == "f16":
        write(out, {"fc.weight": ("F16", [4, 8], W.astype("<f2").tobytes()),
                    "fc.bias": ("F16", [4], B.astype("<f2").tobytes())})
    elif case == "bf16":
        write(out, {"fc.weight": ("BF16", [4, 8], bf16(W)),
                    "fc.bias": ("BF16", [4], bf16(B))})
    elif case == "short":
        open(out, "wb").write(b"\x10\0\0")
    elif case == "header-past-end":
        open(out, "wb").write(struct.pack("<Q", 1000) + b"{}")
    elif case == "bad-json":
        text = b'{"fc.weight": {'
        open(out, "wb").write(struct.pack("<Q", len(text)) + text)
    elif case == "not-object":
        text = b"[1, 2]"
        open(out, "wb").write(struct.pack("<Q", len(text)) + text)
    elif case == "bad-dtype":
        t["fc.bias"] = ("F12", [4], B.tobytes())
        write(out, t)
    elif case == "bad-shape-entry":
        t["fc.bias"] = ("F32", [-4], B.tobytes())
        write(out, t)
    elif case == "past-end":
        write(out, t)
        data = bytearray(open(out, "rb").read())
        open(out, "wb").write(bytes(data[:-8]))  # the last tensor is cut
    elif case == "wrong-size":
        t["fc.bias"] = ("F32", [5], B.tobytes())
        write(out, t)
    elif case == "missing":
        del t["fc.bias"]
        write(out, t)
    elif case == "dtype-mismatch":
        t["fc.weight"] = ("F64", [4, 8], W.astype("<f8").tobytes())
        write(out, t)
    elif case == "shape-mismatch":
        t["fc.weight"] = ("F32", [8, 4], W.T.copy().tobytes())
        write(out, t)
    else:
        sys.exit(f"unknown case {case}")


if __name__ == "__main__":
    main()
