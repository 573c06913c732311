"""Prints a safetensors file for FileCheck: the header's length and its
metadata, then one line per tensor in the order of its data,

    NAME DTYPE [D0,D1,...] BEGIN END DATA

where DATA is the tensor's bytes in hex up to 32 bytes, else their SHA-256;
last, the number of bytes of tensor data and the fingerprint of the tensor
list as hqdm-buffers-to-device defines it (64-bit FNV-1a over the lines
"NAME DTYPE [D0,D1,...] BEGIN END\n" sorted by name). A file that is not safetensors
(short, header beyond the end, holes or overlaps in the data) is an error.

Usage: dump_safetensors.py FILE
"""
import hashlib
import json
import struct
import sys


def main():
    data = open(sys.argv[1], "rb").read()
    if len(data) < 8:
        sys.exit("shorter than the header length")
    (length,) = struct.unpack("<Q", data[:8])
    if 8 + length > len(data):
        sys.exit("header beyond the end of the file")
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    print(f"header {length} bytes, {length % 8} past a multiple of 8")
    for key, value in sorted(header.pop("__metadata__", {}).items()):
        print(f"metadata {key} {value}")
    lines = sorted(
        f"{n} {t['dtype']} [{','.join(map(str, t['shape']))}] "
        f"{t['data_offsets'][0]} {t['data_offsets'][1]}\n"
        for n, t in header.items())
    end = 0
    for name, t in sorted(header.items(),
                          key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, stop = t["data_offsets"]
        if begin != end:
            sys.exit(f"{name}: starts at {begin}, not {end}")
        end = stop
        raw = body[begin:stop]
        text = raw.hex() if len(raw) <= 32 else hashlib.sha256(raw).hexdigest()
        shape = ",".join(map(str, t["shape"]))
        print(f"{name} {t['dtype']} [{shape}] {begin} {stop} {text}")
    if end != len(body):
        sys.exit(f"the tensors end at {end}, the data at {len(body)}")
    print(f"data {len(body)} bytes")
    print(f"fingerprint {fnv1a(''.join(lines).encode()):016x}")


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


if __name__ == "__main__":
    main()
