"""The calibration driver: runs an instrumented copy of a model over a
calibration set and writes the statistics file that hqdm-quantize's
calibrated activation scales read.

Two stages, each an hqdm-opt run followed by an ahead-of-time compile
(hqdm.aot) and one call of `@<fn>_observe` per calibration call:

1. `hqdm-opt MODEL --hqdm-quantize="<options> instrument=ranges
   manifest=WORK/ranges.manifest.json"`: per step and observed layer,
   channel_min/channel_max are the elementwise min/max over the step's calls.
   They are written as a ranges-only statistics file (OUT minus ".json" plus
   ".ranges.json", and WORK/ranges.json, which stage 2 reads).
2. `hqdm-opt MODEL --hqdm-quantize="<options> instrument=histograms
   manifest=WORK/histograms.manifest.json calibration=WORK/ranges.json
   bins=N"`: per step, each layer's histogram is the sum of its calls'
   counts. The final file has the ranges of stage 1 and these histograms.

The instrumented function (manifest "function") takes the model function's
arguments and returns the model's results followed by, per observation in
manifest order, channel_min (tensor<Cxf32>), channel_max (tensor<Cxf32>) and,
when the observation's manifest "histogram" is not null, the histogram
(tensor<Bxi32>).

The statistics file has, per layer, the manifest observation's "axis",
"channels" and (when the manifest has it) "rotation", the per-step
"min"/"max"/"absmax" (over all channels) and "channel_min"/"channel_max" of
stage 1, and stage 2's "histogram" {"bins", "low", "high", "counts" per step,
"transform"} for observations whose stage-2 manifest entry has a histogram.
Stage 2's own channel_min/channel_max are read but not kept (with a post-GELU
transform they are of the transformed input). Floats are written as Python's
repr of the f32 value, which reads back as the same f32.

Calibration data: one array per function argument with a leading call
dimension, as keys arg0, arg1, ... of an .npz or .safetensors file, or as
arg0.npy, arg1.npy, ... in a directory. The step of a call is the first
element of its timestep argument (manifest "timestep_arg"); steps are sorted
descending (the sampler's order, noisiest first). Without a timestep
argument (timestep_arg null) every call belongs to one step, 0.0.

Usage: python -m hqdm.calibrate MODEL.mlir DATA -o stats.json
           [--options "scheme=w4a8 activation=per-step"] [--bins 2048]
           [--hqdm-opt build/bin/hqdm-opt]
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from hqdm import aot

STATS_FORMAT = "hqdm-calibration"
MANIFEST_FORMAT = "hqdm-observe-manifest"
VERSION = 1
STAGES = ("ranges", "histograms")


class CalibrationError(RuntimeError):
    """A problem with the inputs or a stage of calibration."""


# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------

class Observation:
    def __init__(self, layer, axis, channels, histogram, transform,
                 rotation=None):
        self.layer = layer
        self.axis = axis
        self.channels = channels
        self.rotation = rotation  # Hadamard block of the input, 0: none
        self.histogram = histogram  # None or {"bins", "low", "high"}
        self.transform = transform  # None or {"shift", "divisor"}


class Manifest:
    """What an instrumentation stage wrote next to its module."""

    def __init__(self, path):
        self.path = str(path)
        try:
            with open(path) as f:
                data = json.load(f)
        except OSError as e:
            raise CalibrationError("cannot read the manifest {}: {}".format(
                path, e.strerror)) from None
        except json.JSONDecodeError as e:
            raise CalibrationError("{}: not valid JSON: {}".format(path, e)) from None
        self._parse(data)

    def _error(self, message):
        return CalibrationError("{}: {}".format(self.path, message))

    def _get(self, data, key, kind, where="the manifest"):
        if key not in data:
            raise self._error("{} has no \"{}\"".format(where, key))
        value = data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise self._error("\"{}\" in {} has the wrong type".format(key, where))
        return value

    def _parse_value(self, value, where):
        if not isinstance(value, dict):
            raise self._error("{} is not an object".format(where))
        shape = self._get(value, "shape", list, where)
        if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                   for s in shape):
            raise self._error("{} has a bad shape {}".format(where, shape))
        dtype = self._get(value, "dtype", str, where)
        try:
            aot.numpy_dtype(dtype)
        except aot.AotError:
            raise self._error("{} has an unsupported dtype {}".format(
                where, dtype)) from None
        return tuple(shape), dtype

    def _parse(self, data):
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise self._error("not an {} file".format(MANIFEST_FORMAT))
        if data.get("version") != VERSION:
            raise self._error("version {} (this driver reads {})".format(
                data.get("version"), VERSION))
        self.function = self._get(data, "function", str)
        self.source_function = self._get(data, "source_function", str)
        self.timestep_arg = data.get("timestep_arg")
        self.arguments = [self._parse_value(v, "argument {}".format(i))
                          for i, v in enumerate(self._get(data, "arguments", list))]
        self.results = [self._parse_value(v, "result {}".format(i))
                        for i, v in enumerate(self._get(data, "results", list))]
        if self.timestep_arg is not None:
            if (not isinstance(self.timestep_arg, int)
                    or isinstance(self.timestep_arg, bool)
                    or not 0 <= self.timestep_arg < len(self.arguments)):
                raise self._error("timestep_arg {} is not an argument index".format(
                    self.timestep_arg))
            if math.prod(self.arguments[self.timestep_arg][0]) == 0:
                raise self._error("the timestep argument has no elements")
        self.observations = []
        seen = set()
        for i, o in enumerate(self._get(data, "observations", list)):
            where = "observation {}".format(i)
            if not isinstance(o, dict):
                raise self._error("{} is not an object".format(where))
            layer = self._get(o, "layer", str, where)
            if layer in seen:
                raise self._error("layer {} is observed twice".format(layer))
            seen.add(layer)
            axis = self._get(o, "axis", int, where)
            channels = self._get(o, "channels", int, where)
            if channels < 1:
                raise self._error("{} has {} channels".format(where, channels))
            rotation = (self._get(o, "rotation", int, where)
                        if o.get("rotation") is not None else None)
            histogram = o.get("histogram")
            if histogram is not None:
                if not isinstance(histogram, dict):
                    raise self._error("{}: \"histogram\" is not an object".format(where))
                bins = self._get(histogram, "bins", int, where + " histogram")
                low = self._get(histogram, "low", (int, float), where + " histogram")
                high = self._get(histogram, "high", (int, float), where + " histogram")
                if bins < 1 or not low < high:
                    raise self._error("{} has a bad histogram (bins {}, [{}, {}))".format(
                        where, bins, low, high))
                histogram = {"bins": bins, "low": float(low), "high": float(high)}
            transform = o.get("transform")
            if transform is not None:
                if not isinstance(transform, dict):
                    raise self._error("{}: \"transform\" is not an object".format(where))
                for key in ("shift", "divisor"):
                    values = self._get(transform, key, list, where + " transform")
                    if len(values) != channels:
                        raise self._error("{} transform {} has {} values for {} "
                                          "channels".format(where, key, len(values),
                                                            channels))
            self.observations.append(
                Observation(layer, axis, channels, histogram, transform,
                            rotation))

    def result_specs(self):
        """The result list of the instrumented function, for aot.Library.call."""
        specs = [(shape, dtype) for shape, dtype in self.results]
        for o in self.observations:
            specs += [((o.channels,), "f32"), ((o.channels,), "f32")]
            if o.histogram is not None:
                specs.append(((o.histogram["bins"],), "i32"))
        return specs


# --------------------------------------------------------------------------
# Calibration data
# --------------------------------------------------------------------------

def _key(i):
    return "arg{}".format(i)


def read_data(path):
    """The arrays of a calibration set: {key: array} from an .npz, a
    .safetensors file or a directory of KEY.npy files."""
    path = Path(path)
    if not path.exists():
        raise CalibrationError("no such calibration data: {}".format(path))
    try:
        if path.is_dir():
            return {p.stem: np.load(p, mmap_mode="r", allow_pickle=False)
                    for p in sorted(path.glob("*.npy"))}
        if path.suffix == ".safetensors":
            try:
                from safetensors.numpy import load_file
            except ImportError:
                raise CalibrationError(
                    "{}: reading .safetensors needs the safetensors package "
                    "(pip install safetensors)".format(path)) from None
            return dict(load_file(str(path)))
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
    except CalibrationError:
        raise
    except Exception as e:  # numpy and safetensors raise many kinds
        raise CalibrationError("cannot read {}: {}".format(path, e)) from None
    raise CalibrationError(
        "{}: calibration data must be an .npz or .safetensors file or a "
        "directory of arg0.npy, arg1.npy, ...".format(path))


def _cast(array, dtype, where):
    """`array` as `dtype` (an MLIR element type name), if every value is
    representable; floats round to the nearest float of the target."""
    target = aot.numpy_dtype(dtype)
    source = array.dtype
    if source.kind not in "biuf":
        raise CalibrationError("{}: expected {}, got {}, which does not "
                               "convert".format(where, dtype, source))
    if source == target:
        return np.asarray(array)
    out = np.asarray(array).astype(target)
    if target.kind in "biu":
        back = out.astype(np.float64 if source.kind == "f" else source)
        if not np.array_equal(back, array):
            raise CalibrationError(
                "{}: expected {}, got {} with values that {} does not "
                "represent".format(where, dtype, source, dtype))
    return out


def validate_data(arrays, manifest, source):
    """The per-argument arrays (cast to the manifest's dtypes) and the number
    of calls; errors name the data file, the key and what was expected."""
    count = len(manifest.arguments)
    expected = ", ".join(_key(i) for i in range(count))
    result = []
    calls = None
    for i, (shape, dtype) in enumerate(manifest.arguments):
        key = _key(i)
        where = "{}: key '{}'".format(source, key)
        if key not in arrays:
            raise CalibrationError(
                "{}: missing key '{}' (the function @{} has {} argument{}: "
                "expected keys {})".format(source, key, manifest.source_function,
                                          count, "" if count == 1 else "s",
                                          expected))
        array = arrays[key]
        want = "[N, {}]".format(", ".join(str(s) for s in shape)) if shape else "[N]"
        if array.ndim != len(shape) + 1 or tuple(array.shape[1:]) != shape:
            raise CalibrationError(
                "{}: expected shape {} (N calls of {}), got {}".format(
                    where, want, list(shape), list(array.shape)))
        if calls is None:
            calls = array.shape[0]
            first = key
        elif array.shape[0] != calls:
            raise CalibrationError(
                "{}: {} calls, but '{}' has {}".format(where, array.shape[0],
                                                      first, calls))
        result.append(_cast(array, dtype, where))
    if not calls:
        raise CalibrationError("{}: no calibration calls (the leading dimension "
                               "is 0)".format(source))
    return result, calls


def call_steps(arrays, manifest, source):
    """The step of each call: the first element of its timestep argument."""
    if manifest.timestep_arg is None:
        return [0.0] * len(arrays[0])
    t = arrays[manifest.timestep_arg]
    values = np.asarray(t).reshape(t.shape[0], -1)[:, 0].astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise CalibrationError("{}: key '{}': timestep values must be "
                               "finite".format(source, _key(manifest.timestep_arg)))
    return [float(v) for v in values]


# --------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------

_RESERVED = re.compile(r"(?:^|\s)(instrument|manifest|calibration|bins)\s*=")
_UNQUOTABLE = re.compile(r"[\s'\"{}]")


def stage_options(options, instrument, manifest, calibration=None, bins=None):
    """The --hqdm-quantize option string of an instrumentation stage."""
    parts = [options.strip()] if options and options.strip() else []
    parts.append("instrument={}".format(instrument))
    parts.append("manifest={}".format(manifest))
    if calibration is not None:
        parts.append("calibration={}".format(calibration))
    if bins is not None:
        parts.append("bins={}".format(bins))
    return " ".join(parts)


class HqdmOptStage:
    """Runs an instrumentation stage with hqdm-opt's hqdm-quantize."""

    def __init__(self, model, options="", hqdm_opt=None):
        self.model = str(model)
        self.options = options or ""
        self.hqdm_opt = hqdm_opt
        match = _RESERVED.search(self.options)
        if match:
            raise CalibrationError(
                "the calibration options may not set {}=: the driver sets it for "
                "each stage".format(match.group(1)))

    def command(self, instrument, work_dir, calibration=None, bins=None):
        work_dir = Path(work_dir)
        manifest = work_dir / "{}.manifest.json".format(instrument)
        output = work_dir / "{}.mlir".format(instrument)
        return [aot.find_hqdm_opt(self.hqdm_opt), self.model,
                "--hqdm-quantize=" + stage_options(
                    self.options, instrument, manifest, calibration, bins),
                "-o", str(output)], output, manifest

    def __call__(self, instrument, work_dir, calibration=None, bins=None):
        command, output, manifest = self.command(instrument, work_dir,
                                                 calibration, bins)
        if not Path(self.model).is_file():
            raise CalibrationError("no such model: {}".format(self.model))
        proc = aot.run_command(
            "hqdm-opt (instrument={} stage)".format(instrument), command)
        if proc.stderr:  # warnings and remarks of the stage
            sys.stderr.write(proc.stderr)
        if not manifest.is_file():
            raise CalibrationError(
                "the instrument={} stage wrote no manifest {} (does {} have "
                "hqdm-quantize{{instrument=...}}?)".format(
                    instrument, manifest, command[0]))
        return output, manifest


class PrebuiltStage:
    """Stages made ahead of time (for tests and debugging): DIR/ranges.mlir
    with DIR/ranges.manifest.json, DIR/histograms.mlir with
    DIR/histograms.manifest.json. Checks that stage 2 gets a ranges-only
    statistics file, as hqdm-opt would."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.calls = []

    def __call__(self, instrument, work_dir, calibration=None, bins=None):
        self.calls.append((instrument, calibration, bins))
        if instrument == "histograms":
            stats = read_stats(calibration)
            if any("histogram" in layer for layer in stats["layers"].values()):
                raise CalibrationError("{}: stage 2 got a file with histograms".format(
                    calibration))
        output = self.directory / "{}.mlir".format(instrument)
        manifest = self.directory / "{}.manifest.json".format(instrument)
        for path in (output, manifest):
            if not path.is_file():
                raise CalibrationError("no prebuilt stage file {}".format(path))
        return output, manifest


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------

class _Progress:
    def __init__(self, total, label, enabled):
        self.total, self.label, self.count = total, label, 0
        self.bar = None
        self.enabled = enabled
        self.tty = enabled and sys.stderr.isatty()
        if enabled:
            try:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=label, unit="call", file=sys.stderr)
            except ImportError:
                pass

    def step(self):
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.tty:
            sys.stderr.write("\r{}: {}/{}".format(self.label, self.count, self.total))
            sys.stderr.flush()
        elif self.enabled and (self.count == self.total
                               or self.count % max(1, self.total // 10) == 0):
            sys.stderr.write("{}: {}/{}\n".format(self.label, self.count, self.total))

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.tty:
            sys.stderr.write("\n")


class _StepStats:
    """Per step, per observation: running channel min/max, histogram sums."""

    def __init__(self, observations):
        self.channel_min = [None] * len(observations)
        self.channel_max = [None] * len(observations)
        self.histogram = [None] * len(observations)
        self.samples = 0


def run_stage(library, manifest, arrays, steps_of_calls, step_index, label,
              progress=True):
    """Calls the instrumented function once per calibration call and folds the
    observations into one _StepStats per step."""
    specs = manifest.result_specs()
    first = len(manifest.results)
    stats = [_StepStats(manifest.observations) for _ in step_index]
    bar = _Progress(len(steps_of_calls), label, progress)
    try:
        for call, step in enumerate(steps_of_calls):
            values = library.call(manifest.function,
                                  *[a[call] for a in arrays], results=specs)
            s = stats[step_index[step]]
            s.samples += 1
            k = first
            for j, o in enumerate(manifest.observations):
                lo, hi = values[k], values[k + 1]
                k += 2
                if s.channel_min[j] is None:
                    s.channel_min[j], s.channel_max[j] = lo, hi
                else:
                    np.minimum(s.channel_min[j], lo, out=s.channel_min[j])
                    np.maximum(s.channel_max[j], hi, out=s.channel_max[j])
                if o.histogram is not None:
                    counts = values[k].astype(np.int64)
                    k += 1
                    if s.histogram[j] is None:
                        s.histogram[j] = counts
                    else:
                        s.histogram[j] += counts
            bar.step()
    finally:
        bar.close()
    return stats


def _floats(array):
    return [float(v) for v in np.asarray(array, dtype=np.float32)]


def ranges_stats(manifest, steps, stats):
    """The statistics dictionary of stage 1 (ranges only)."""
    layers = {}
    for j, o in enumerate(manifest.observations):
        entry = {"axis": o.axis, "channels": o.channels}
        if o.rotation is not None:
            entry["rotation"] = o.rotation
        entry.update({"min": [], "max": [], "absmax": [],
                      "channel_min": [], "channel_max": []})
        for s, step in zip(stats, steps):
            lo, hi = s.channel_min[j], s.channel_max[j]
            if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
                raise CalibrationError(
                    "layer {}, step {}: the observed range is not finite (the "
                    "activations hold inf or nan)".format(o.layer, step))
            mn, mx = np.float32(lo.min()), np.float32(hi.max())
            entry["min"].append(float(mn))
            entry["max"].append(float(mx))
            entry["absmax"].append(float(max(abs(mn), abs(mx))))
            entry["channel_min"].append(_floats(lo))
            entry["channel_max"].append(_floats(hi))
        layers[o.layer] = entry
    return {"format": STATS_FORMAT, "version": VERSION,
            "function": manifest.source_function,
            "timestep_arg": manifest.timestep_arg,
            "steps": [float(s) for s in steps],
            "samples": [s.samples for s in stats],
            "layers": layers}


def add_histograms(result, manifest, stats):
    """Adds stage 2's histograms to the statistics dictionary `result`."""
    for j, o in enumerate(manifest.observations):
        if o.histogram is None:
            continue
        if o.layer not in result["layers"]:
            raise CalibrationError(
                "{}: layer {} was not observed in the ranges stage".format(
                    manifest.path, o.layer))
        entry = result["layers"][o.layer]
        if (entry["channels"] != o.channels or entry["axis"] != o.axis
                or entry.get("rotation") != o.rotation):
            raise CalibrationError(
                "{}: layer {} has axis {}, {} channels and rotation {}; the "
                "ranges stage had {}, {} and {}".format(
                    manifest.path, o.layer, o.axis, o.channels, o.rotation,
                    entry["axis"], entry["channels"], entry.get("rotation")))
        entry["histogram"] = {
            "bins": o.histogram["bins"], "low": o.histogram["low"],
            "high": o.histogram["high"],
            "counts": [[int(c) for c in s.histogram[j]] for s in stats],
            "transform": None if o.transform is None else {
                "shift": [float(v) for v in o.transform["shift"]],
                "divisor": [float(v) for v in o.transform["divisor"]]}}
    return result


def _json(value, indent=0):
    """JSON with objects indented and lists of numbers on one line. Floats are
    Python's repr (shortest round trip), so that an f32 written as its double
    value reads back as the same f32."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        pad = " " * (indent + 2)
        items = ",\n".join(pad + json.dumps(k) + ": " + _json(v, indent + 2)
                           for k, v in value.items())
        return "{\n" + items + "\n" + " " * indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        pad = " " * (indent + 2)
        items = ",\n".join(pad + _json(v, indent + 2) for v in value)
        return "[\n" + items + "\n" + " " * indent + "]"
    return json.dumps(value, allow_nan=False)


def write_stats(stats, path):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(_json(stats) + "\n")
    os.replace(tmp, path)


def read_stats(path):
    try:
        with open(path) as f:
            stats = json.load(f)
    except (OSError, TypeError, json.JSONDecodeError) as e:
        raise CalibrationError("cannot read the statistics file {}: {}".format(
            path, e)) from None
    if not isinstance(stats, dict) or stats.get("format") != STATS_FORMAT:
        raise CalibrationError("{} is not an {} file".format(path, STATS_FORMAT))
    return stats


def ranges_path(out_json):
    """Where the ranges-only file goes next to the final one."""
    out = str(out_json)
    return (out[:-len(".json")] if out.endswith(".json") else out) + ".ranges.json"


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def _log(message, enabled):
    if enabled:
        sys.stderr.write("calibrate: {}\n".format(message))


def _stage(runner, instrument, work_dir, hqdm_opt, calibration=None, bins=None,
           verbose=True):
    _log("instrument={} stage".format(instrument), verbose)
    mlir, manifest_path = runner(instrument, work_dir, calibration=calibration,
                                 bins=bins)
    manifest = Manifest(manifest_path)
    library_path = aot.compile_shared_library(mlir, work_dir, hqdm_opt=hqdm_opt,
                                              name=instrument + "_lib")
    library = aot.Library(library_path)
    if not library.has_function(manifest.function):
        raise CalibrationError("{}: the stage module has no public @{}".format(
            mlir, manifest.function))
    return manifest, library


def calibrate(model_mlir, data, out_json, options="", bins=2048, hqdm_opt=None,
              work_dir=None, keep_work=False, histograms=True, stage_runner=None,
              progress=True):
    """Calibrates `model_mlir` on `data` and writes the statistics to
    `out_json` (and the ranges-only file to ranges_path(out_json)). Returns
    the statistics dictionary.

    `stage_runner(instrument, work_dir, calibration=, bins=)` returns the
    (module, manifest) paths of a stage; the default runs hqdm-opt with
    hqdm-quantize="`options` instrument=...". `hqdm_opt` also lowers the
    stage modules. Without `histograms`, only stage 1 runs and `out_json` is
    the ranges-only file."""
    raw = read_data(data)
    Path(out_json).resolve().parent.mkdir(parents=True, exist_ok=True)
    if stage_runner is None:
        stage_runner = HqdmOptStage(model_mlir, options, hqdm_opt)
    owns_work = work_dir is None
    if owns_work:
        work_dir = tempfile.mkdtemp(prefix="hqdm-calibrate-")
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    if _UNQUOTABLE.search(str(work_dir)):
        raise CalibrationError(
            "the work directory {} has spaces, quotes or braces, which the "
            "hqdm-quantize option string cannot carry; pick another with "
            "--work-dir".format(work_dir))
    try:
        manifest, library = _stage(stage_runner, "ranges", work_dir, hqdm_opt,
                                   verbose=progress)
        arrays, calls = validate_data(raw, manifest, data)
        steps_of_calls = call_steps(arrays, manifest, data)
        steps = sorted(set(steps_of_calls), reverse=True)
        step_index = {s: i for i, s in enumerate(steps)}
        _log("{} calls, {} steps, {} observed layers".format(
            calls, len(steps), len(manifest.observations)), progress)
        with library:
            stats = run_stage(library, manifest, arrays, steps_of_calls,
                              step_index, "ranges", progress)
        result = ranges_stats(manifest, steps, stats)
        ranges_file = work_dir / "ranges.json"
        write_stats(result, ranges_file)
        if not histograms:
            write_stats(result, out_json)
            return result
        write_stats(result, ranges_path(out_json))

        manifest2, library = _stage(stage_runner, "histograms", work_dir,
                                    hqdm_opt, calibration=ranges_file, bins=bins,
                                    verbose=progress)
        if manifest2.arguments != manifest.arguments:
            raise CalibrationError(
                "{}: the histogram stage's arguments differ from the ranges "
                "stage's".format(manifest2.path))
        if manifest2.timestep_arg != manifest.timestep_arg:
            raise CalibrationError("{}: the histogram stage's timestep_arg "
                                   "differs".format(manifest2.path))
        with library:
            stats2 = run_stage(library, manifest2, arrays, steps_of_calls,
                               step_index, "histograms", progress)
        add_histograms(result, manifest2, stats2)
        write_stats(result, out_json)
        return result
    finally:
        if owns_work and not keep_work:
            shutil.rmtree(work_dir, ignore_errors=True)
        elif progress:
            _log("stage files kept in {}".format(work_dir), True)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def main(argv=None, prog="python -m hqdm.calibrate"):
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a model's instrumented copy over a calibration set and "
                    "write the per-step activation statistics that "
                    "hqdm-quantize's calibrated scales read.")
    parser.add_argument("model", help="the float model (MLIR)")
    parser.add_argument("data", help="calibration data: .npz or .safetensors "
                        "with keys arg0, arg1, ..., or a directory of argN.npy; "
                        "leading dimension = calls")
    parser.add_argument("-o", "--output", required=True,
                        help="statistics file to write (JSON)")
    parser.add_argument("--options", default="",
                        help="hqdm-quantize options, e.g. \"scheme=w4a8 "
                        "activation=per-step\" (instrument=, manifest=, "
                        "calibration= and bins= are set by the driver)")
    parser.add_argument("--bins", type=int, default=2048,
                        help="histogram bins (default 2048)")
    parser.add_argument("--ranges-only", action="store_true",
                        help="run only the ranges stage")
    parser.add_argument("--hqdm-opt", default=None,
                        help="hqdm-opt to run (default: $HQDM_OPT, then PATH)")
    parser.add_argument("--work-dir", default=None,
                        help="keep the stage files (modules, manifests, "
                        "libraries) in this directory")
    parser.add_argument("--stage-dir", default=None,
                        help="use prebuilt stages from this directory "
                        "(ranges.mlir, ranges.manifest.json, histograms.mlir, "
                        "histograms.manifest.json) instead of running "
                        "hqdm-quantize; for tests and debugging")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.bins < 1:
        parser.error("--bins must be positive")
    try:
        runner = PrebuiltStage(args.stage_dir) if args.stage_dir else None
        result = calibrate(args.model, args.data, args.output,
                           options=args.options, bins=args.bins,
                           hqdm_opt=args.hqdm_opt, work_dir=args.work_dir,
                           histograms=not args.ranges_only, stage_runner=runner,
                           progress=not args.quiet)
    except (CalibrationError, aot.AotError) as e:
        sys.stderr.write("{}: error: {}\n".format(prog, e))
        return 1
    except OSError as e:
        sys.stderr.write("{}: error: {}: {}\n".format(
            prog, e.filename or "", e.strerror or e))
        return 1
    if not args.quiet:
        _log("wrote {} ({} steps, {} layers)".format(
            args.output, len(result["steps"]), len(result["layers"])), True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
