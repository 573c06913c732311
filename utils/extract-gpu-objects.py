#!/usr/bin/env python3
"""Writes the kernel objects embedded in an MLIR module's gpu.binary ops.

Reads the textual output of `hqdm-opt --hqdm-lower-to-cuda` (or of
`gpu-module-to-binary`) and writes, for every object of every gpu.binary,
OUT/<binary>.<chip>.ptx (format=isa) or OUT/<binary>.<chip>.cubin (bin) or
.fatbin, then prints the paths it wrote. MLIR prints the object as a string
attribute with non-printable bytes escaped as \\XX (two hex digits).

    extract-gpu-objects.py lowered.mlir OUT_DIR
"""
import os
import re
import sys

OBJECT = re.compile(
    r'#gpu\.object<#nvvm\.target<[^>]*chip = "(?P<chip>[^"]+)"[^>]*>'
    r'(?:, properties = \{[^}]*\})?, '
    r'(?:(?P<kind>assembly|bin|fatbin) = )?"(?P<data>(?:[^"\\]|\\.)*)"')


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1]
            if nxt in '\\"':
                out.append(ord(nxt))
                i += 2
                continue
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
            continue
        out.extend(c.encode("latin-1"))
        i += 1
    return bytes(out)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out_dir = sys.argv[1], sys.argv[2]
    with open(source, encoding="latin-1") as f:
        text = f.read()
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for binary in re.finditer(r"gpu\.binary @(\w+)", text):
        end = text.find("\n", binary.end())
        line = text[binary.end():end if end >= 0 else len(text)]
        for obj in OBJECT.finditer(line):
            kind = obj.group("kind") or "fatbin"
            ext = {"assembly": "ptx", "bin": "cubin", "fatbin": "fatbin"}[kind]
            path = os.path.join(out_dir,
                                f"{binary.group(1)}.{obj.group('chip')}.{ext}")
            with open(path, "wb") as f:
                f.write(unescape(obj.group("data")))
            print(path)
            written += 1
    if not written:
        sys.exit(f"error: {source} holds no gpu.binary object")


if __name__ == "__main__":
    main()
