"""calibrate.test: checks a statistics file written by hqdm.calibrate against
numpy statistics computed directly on the calibration data.

Usage: calib_check.py STATS.json DATA.npz [--ranges-only]"""

import json
import sys

import numpy as np

stats_path, data_path = sys.argv[1], sys.argv[2]
ranges_only = "--ranges-only" in sys.argv[3:]
with open(stats_path) as f:
    stats = json.load(f)
data = np.load(data_path)
x = data["arg0"].astype(np.float32)   # as the driver casts it
t = data["arg1"].astype(np.int64)
y = x * x - np.float32(1.0)           # the model of calib_stages/

print("format:", stats["format"], stats["version"], stats["function"],
      "timestep_arg", stats["timestep_arg"])
steps = sorted({float(v) for v in t[:, 0]}, reverse=True)
print("steps:", stats["steps"], "match" if stats["steps"] == steps else "DIFFER")
samples = [int(np.sum(t[:, 0] == s)) for s in steps]
print("samples:", stats["samples"], "match" if stats["samples"] == samples else "DIFFER")


def exact_f32(values):
    """Every value written is exactly an f32 (reads back unchanged)."""
    a = np.asarray(values, dtype=np.float64)
    return np.array_equal(a.astype(np.float32).astype(np.float64), a)


def histogram(v, bins, low, high):
    # The order of operations of the instrumented module, in f32.
    q = (v - np.float32(low)) * np.float32(bins) / (np.float32(high) - np.float32(low))
    k = np.clip(np.floor(q), 0, bins - 1).astype(np.int64)
    return np.bincount(k.ravel(), minlength=bins)


# layer -> (value, channel axis within a call's 3x8 tensor, histogram range)
layers = {"fc1": (x, 1, (-2.0, 3.0)), "fc2": (y, 0, (-1.0, 4.0)),
          "proj": (y, 1, None)}
print("layers:", list(stats["layers"]))
for name, (value, axis, hrange) in layers.items():
    entry = stats["layers"][name]
    reduce_axes = tuple(a + 1 for a in range(2) if a != axis)
    ok = entry["axis"] == axis and entry["channels"] == value.shape[1 + axis]
    for k, s in enumerate(steps):
        v = value[t[:, 0] == s]
        cmin = v.min(axis=(0,) + reduce_axes)
        cmax = v.max(axis=(0,) + reduce_axes)
        ok &= np.array_equal(np.float32(entry["channel_min"][k]), cmin)
        ok &= np.array_equal(np.float32(entry["channel_max"][k]), cmax)
        ok &= entry["min"][k] == float(v.min()) and entry["max"][k] == float(v.max())
        ok &= entry["absmax"][k] == float(np.abs(v).max())
        ok &= all(exact_f32(entry[key][k]) for key in ("channel_min", "channel_max"))
    print("{}: axis {} channels {} rotation {} ranges {}".format(
        name, entry["axis"], entry["channels"], entry.get("rotation", "absent"),
        "match" if ok else "DIFFER"))
    if ranges_only or hrange is None:
        print("{}: histogram {}".format(name, "present" if "histogram" in entry
                                        else "absent"))
        continue
    h = entry["histogram"]
    ok = (h["bins"], h["low"], h["high"]) == (16, hrange[0], hrange[1])
    for k, s in enumerate(steps):
        ok &= h["counts"][k] == histogram(value[t[:, 0] == s], 16, *hrange).tolist()
    total = [sum(c) for c in h["counts"]]
    print("{}: histogram bins {} [{}, {}) counts {} (elements per step {}), "
          "transform {}".format(name, h["bins"], h["low"], h["high"],
                                "match" if ok else "DIFFER", total,
                                json.dumps(h["transform"])))
