#!/usr/bin/env python3
# ===- calibration_ref.py - Independent reference for calibrated scales ----===#
#
# A numpy reimplementation of what hqdm-time-aware-scales and
# hqdm-taq-post-gelu compute, written from docs/Calibration.md, and a maker
# of synthetic calibration files whose activations drift with the step.
#
#   make OUT [--steps T] [--bins B] [--ranges-only]
#       Writes a calibration file for the two layers of Inputs/mlp.mlir:
#       "fc1" (8 channels, symmetric data) and "fc2" (16 channels, GELU
#       outputs), sampled per step with a spread that grows 6x from the last
#       step to the first, and one outlier channel in fc2.
#
#   break STATS KIND OUT
#       Writes STATS with one thing broken (see BREAKS), for error tests.
#
#   check-scales STATS IR --layer NAME --bits N [--asymmetric] [--groups G]
#       IR is hqdm-opt's output after hqdm-time-aware-scales. Reads the
#       layer's #hqdm.scale_table and checks it against an exhaustive
#       search: every group's scale must reach the least L_2.4 error over the
#       candidate ratios (within 1e-9 relative), and the group boundaries
#       must reach the least total (the dynamic program's optimum).
#       Prints the table's total error and that of 1 group and per step.
#
#   check-taq STATS ORIGINAL IR --layer NAME [--threshold 4]
#       Checks the shift, divisor, weight and input_shift constants
#       hqdm-taq-post-gelu wrote (IR, printed without hex) against the
#       formulas (mean mid-range, median rule, rounding) and the layer of
#       ORIGINAL, and that the layer still computes x W^T + b on random
#       inputs in the calibrated range.
#
# ===----------------------------------------------------------------------===#

import argparse
import json
import re
import sys

import numpy as np

P = 2.4
CANDIDATES = 80


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def make(args):
    rng = np.random.default_rng(7)
    steps = np.linspace(999, 0, args.steps).round()
    spread = np.linspace(6.0, 1.0, args.steps)   # noisiest step widest
    data = {"fc1": [], "fc2": []}
    for s in spread:
        x = rng.standard_normal((64, 8)) * s * 0.5
        x[:, 3] *= 3.0
        data["fc1"].append(x)
        h = gelu_tanh(rng.standard_normal((64, 16)) * s + 0.3)
        h[:, 5] *= 8.0                             # an outlier channel
        data["fc2"].append(h)
    layers = {}
    for name, per_step in data.items():
        low = min(float(x.min()) for x in per_step)
        high = max(float(x.max()) for x in per_step)
        entry = {
            "axis": 1, "channels": per_step[0].shape[1], "rotation": 0,
            "min": [float(x.min()) for x in per_step],
            "max": [float(x.max()) for x in per_step],
            "absmax": [float(np.abs(x).max()) for x in per_step],
            "channel_min": [x.min(0).tolist() for x in per_step],
            "channel_max": [x.max(0).tolist() for x in per_step],
        }
        if not args.ranges_only:
            counts = []
            for x in per_step:
                b = np.floor((x.ravel() - low) * args.bins / (high - low))
                b = np.clip(b, 0, args.bins - 1).astype(int)
                counts.append(np.bincount(b, minlength=args.bins).tolist())
            entry["histogram"] = {"bins": args.bins, "low": low, "high": high,
                                  "counts": counts, "transform": None}
        layers[name] = entry
    out = {"format": "hqdm-calibration", "version": 1, "function": "forward",
           "timestep_arg": 1, "steps": steps.tolist(),
           "samples": [1] * args.steps, "layers": layers}
    with open(args.out, "w") as f:
        json.dump(out, f)


def scale_table(ir, layer):
    """The #hqdm.scale_table of `layer` in hqdm-opt's output."""
    for line in ir.splitlines():
        if f'name = "{layer}"' not in line:
            continue
        m = re.search(r"#hqdm\.scale_table<steps = \[([^\]]*)\], "
                      r"group_starts = \[([^\]]*)\], scales = \[([^\]]*)\], "
                      r"zero_points = \[([^\]]*)\]>", line)
        if m:
            nums = [np.array([float(v) for v in g.split(",") if v.strip()])
                    for g in m.groups()]
            return nums
    sys.exit(f"no scale table for layer '{layer}' in the IR")


class Search:
    def __init__(self, hist, bits, symmetric):
        self.counts = np.array(hist["counts"], dtype=np.float64)
        bins, low, high = hist["bins"], hist["low"], hist["high"]
        self.width = (high - low) / bins
        self.low = low
        self.centers = low + (np.arange(bins) + 0.5) * self.width
        self.symmetric = symmetric
        self.qmin = -(2 ** (bits - 1) - 1) if symmetric else 0
        self.qmax = 2 ** (bits - 1) - 1 if symmetric else 2 ** bits - 1

    def quantizer_error(self, h, s, z):
        q = np.clip(np.round(self.centers / s) + z, self.qmin, self.qmax)
        e = np.abs(self.centers - (q - z) * s)
        return float((h * e ** P).sum())

    def best(self, first, last):
        return min(e for _, _, e in self.candidates(first, last))

    def candidates(self, first, last):
        """(scale, zero point, error) of every clipping ratio."""
        h = self.counts[first:last].sum(0)
        nz = np.nonzero(h)[0]
        lo = min(0.0, self.low + nz[0] * self.width)
        hi = max(0.0, self.low + (nz[-1] + 1) * self.width)
        errors = []
        for c in range(CANDIDATES):
            r = 1 - 0.01 * c
            if self.symmetric:
                s = np.float32(r * max(-lo, hi) / self.qmax)
                z = 0
            else:
                s = np.float32(r * (hi - lo) / self.qmax)
                z = int(np.clip(np.round(-r * lo / float(s)), 0, self.qmax))
            errors.append((float(s), z, self.quantizer_error(h, float(s), z)))
        return errors


def check_scales(args):
    stats = json.load(open(args.stats))
    hist = stats["layers"][args.layer]["histogram"]
    steps, starts, scales, zeros = scale_table(open(args.ir).read(), args.layer)
    T = len(stats["steps"])
    search = Search(hist, args.bits, not args.asymmetric)
    bounds = [int(s) for s in starts] + [T]
    failures = []
    total = 0.0
    for g in range(len(starts)):
        # The printed scale has 7 digits: find the candidate it is.
        cands = search.candidates(bounds[g], bounds[g + 1])
        s, z, got = min(cands, key=lambda c: abs(c[0] - scales[g]))
        if abs(s - scales[g]) > 1e-6 * s or (args.asymmetric and z != zeros[g]):
            failures.append(f"group {g}: scale {scales[g]} zero point "
                            f"{zeros[g] if args.asymmetric else 0} is no "
                            f"candidate (nearest {s}, {z})")
        want = min(e for _, _, e in cands)
        total += got
        if got > want * (1 + 1e-9) + 1e-300:
            failures.append(f"group {g}: error {got} > best {want}")
    G = args.groups if args.groups else T
    # The optimum of the dynamic program, by brute force over the same costs.
    cost = {(i, j): search.best(i, j) for i in range(T) for j in range(i + 1, T + 1)}
    best = {(0, 0): 0.0}
    for g in range(1, G + 1):
        for j in range(g, T + 1):
            best[(g, j)] = min(best[(g - 1, i)] + cost[(i, j)]
                               for i in range(g - 1, j) if (g - 1, i) in best)
    if len(starts) != G:
        failures.append(f"{len(starts)} groups, expected {G}")
    if total > best[(G, T)] * (1 + 1e-9):
        failures.append(f"total error {total} > optimum {best[(G, T)]}")
    one = cost[(0, T)]
    per_step = sum(cost[(t, t + 1)] for t in range(T))
    print(f"{args.layer}: groups {len(starts)} total {total:.6g} "
          f"(1 group {one:.6g}, per step {per_step:.6g})")
    if not per_step <= total * (1 + 1e-9) <= one * (1 + 1e-9) + 1e-300:
        failures.append("the total is not between per-step and one group")
    if failures:
        sys.exit("\n".join(failures))
    print(f"{args.layer}: OK")


def constants(ir):
    """Every `%name = arith.constant dense<...> : tensor<...xf32>` of IR
    printed with --mlir-print-elementsattrs-with-hex-if-larger=-1."""
    out = {}
    for m in re.finditer(r"(%\w+) = arith.constant dense<(.*?)> : "
                         r"tensor<([0-9x]*)xf32>", ir):
        shape = [int(d) for d in m.group(3).split("x") if d]
        out[m.group(1)] = np.broadcast_to(
            np.array(json.loads(m.group(2)), dtype=np.float64), shape)
    return out


def linear(ir, name):
    """(input, weight, bias) operand names of the hqdm.linear `name`."""
    m = re.search(r"hqdm.linear (%\w+), (%\w+)(?: bias\((%\w+)\))?[^\n]*"
                  r'name = "' + name + '"', ir)
    if not m:
        sys.exit(f"no hqdm.linear named {name}")
    return m.groups()


def check_taq(args):
    stats = json.load(open(args.stats))["layers"][args.layer]
    mn = np.array(stats["channel_min"])
    mx = np.array(stats["channel_max"])
    shift = ((mn + mx) / 2).mean(0)
    r = np.maximum(mx - shift, shift - mn).max(0)
    median = np.sort(r)[len(r) // 2]
    ordinary = r[r <= args.threshold * median].max()
    m = np.where(r > args.threshold * median,
                 np.maximum(1, np.round(r / ordinary)), 1.0)

    before, after = open(args.original).read(), open(args.ir).read()
    c0, c1 = constants(before), constants(after)
    _, w_name, b_name = linear(before, args.layer)
    w, b = c0[w_name], c0[b_name]
    x_name, w2_name, b2_name = linear(after, args.layer)
    sm = re.search(x_name + r" = hqdm.channel_shift (%\w+), (%\w+), (%\w+)",
                   after)
    if not sm:
        sys.exit(f"the input of {args.layer} is not an hqdm.channel_shift")
    got_shift, got_div = c1[sm.group(2)], c1[sm.group(3)]
    s = re.search(r"input_shift = dense<(.*?)> : tensor", after)
    got_input_shift = np.array(json.loads(s.group(1)), dtype=np.float64)
    failures = []
    if not np.allclose(got_shift, shift, rtol=1e-6, atol=1e-7):
        failures.append(f"shift {got_shift} != {shift}")
    if not np.array_equal(got_div, m):
        failures.append(f"divisor {got_div} != {m}")
    if not np.allclose(got_input_shift, shift / m, rtol=1e-6, atol=1e-7):
        failures.append(f"input_shift {got_input_shift} != {shift / m}")
    if not np.allclose(c1[w2_name], w * m, rtol=1e-7, atol=0):
        failures.append("weight columns are not scaled by the divisor")
    if not np.allclose(c1[b2_name], b, rtol=1e-7, atol=0):
        failures.append("the bias changed")
    # The layer computes the same function: (x' + s) W'^T + b == x W^T + b.
    x = np.random.default_rng(0).uniform(mn.min(0), mx.max(0), (64, len(m)))
    ref = x @ w.T + b
    got = ((x - got_shift) / got_div + got_input_shift) @ c1[w2_name].T + b
    err = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"{args.layer}: {int((m > 1).sum())} outlier channels, factors "
          f"{sorted(set(m[m > 1].astype(int).tolist()))}, float function "
          f"kept to {err:.1e}")
    if err > 1e-6:
        failures.append(f"the function changed: relative error {err}")
    if failures:
        sys.exit("\n".join(failures))
    print(f"{args.layer}: OK")


BREAKS = {
    # Each takes the parsed file and breaks one thing.
    "no-steps": lambda d: d.update(steps=[], samples=[]),
    "short-channel": lambda d: d["layers"]["fc2"]["channel_max"].__setitem__(
        3, d["layers"]["fc2"]["channel_max"][3][:5]),
    "renamed": lambda d: d["layers"].__setitem__("fcX", d["layers"].pop("fc2")),
    "no-min": lambda d: d["layers"]["fc1"].pop("min"),
    "nan": lambda d: d["layers"]["fc1"]["max"].__setitem__(2, "nan"),
    "wide": lambda d: d["layers"]["fc2"].update(
        channels=32,
        channel_min=[r * 2 for r in d["layers"]["fc2"]["channel_min"]],
        channel_max=[r * 2 for r in d["layers"]["fc2"]["channel_max"]]),
    "bad-bins": lambda d: d["layers"]["fc2"]["histogram"].update(bins=0),
    "no-timestep": lambda d: d.update(timestep_arg=None),
    "other-function": lambda d: d.update(function="model"),
    "version": lambda d: d.update(version=2),
}


def break_file(args):
    d = json.load(open(args.stats))
    BREAKS[args.kind](d)
    with open(args.out, "w") as f:
        json.dump(d, f)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make")
    a.add_argument("out")
    a.add_argument("--steps", type=int, default=8)
    a.add_argument("--bins", type=int, default=512)
    a.add_argument("--ranges-only", action="store_true")
    a = sub.add_parser("check-scales")
    a.add_argument("stats")
    a.add_argument("ir")
    a.add_argument("--layer", required=True)
    a.add_argument("--bits", type=int, required=True)
    a.add_argument("--asymmetric", action="store_true")
    a.add_argument("--groups", type=int, default=0)
    a = sub.add_parser("check-taq")
    a.add_argument("stats")
    a.add_argument("original")
    a.add_argument("ir")
    a.add_argument("--layer", required=True)
    a.add_argument("--threshold", type=float, default=4.0)
    a = sub.add_parser("break")
    a.add_argument("stats")
    a.add_argument("kind", choices=sorted(BREAKS))
    a.add_argument("out")
    args = ap.parse_args()
    {"break": break_file, "make": make, "check-scales": check_scales, "check-taq": check_taq}[args.cmd](args)


if __name__ == "__main__":
    main()
