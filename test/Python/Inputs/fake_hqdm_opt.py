"""calibrate.test: stands in for hqdm-opt's instrumentation stages until
hqdm-quantize{instrument=...} exists, to test the driver's stage commands.

With --hqdm-quantize="... instrument=STAGE manifest=PATH ..." it checks the
options of the contract, copies calib_stages/STAGE.manifest.json to PATH and
calib_stages/STAGE.mlir to the -o file, and logs the options (file names
only) to $FAKE_HQDM_OPT_LOG.
Anything else (the lowering) runs the real hqdm-opt, $HQDM_OPT."""

import json
import os
import shutil
import sys
from pathlib import Path

stages = Path(__file__).resolve().parent / "calib_stages"
args = sys.argv[1:]
quantize = [a for a in args if a.startswith("--hqdm-quantize=")]
if not quantize:
    os.execv(os.environ["HQDM_OPT"], [os.environ["HQDM_OPT"]] + args)


def fail(message):
    sys.stderr.write("fake-hqdm-opt: error: {}\n".format(message))
    sys.exit(1)


options = dict(o.split("=", 1) for o in quantize[0][len("--hqdm-quantize="):].split())
with open(os.environ["FAKE_HQDM_OPT_LOG"], "a") as log:
    log.write("model {} options {}\n".format(
        Path(args[0]).name,
        " ".join("{}={}".format(k, Path(v).name if k in ("manifest", "calibration")
                                else v) for k, v in options.items())))
if options.get("fake-fail"):
    fail("failing as asked ({})".format(Path(args[0]).name))
stage = options.get("instrument")
if stage not in ("ranges", "histograms"):
    fail("instrument={}".format(stage))
if stage == "histograms":
    with open(options["calibration"]) as f:
        stats = json.load(f)
    if stats["format"] != "hqdm-calibration" or "bins" not in options:
        fail("the histogram stage needs calibration= (a ranges file) and bins=")
    if any("histogram" in layer for layer in stats["layers"].values()):
        fail("calibration= has histograms")
elif "calibration" in options or "bins" in options:
    fail("the ranges stage takes no calibration= or bins=")
if "-o" not in args:
    fail("no -o")
shutil.copy(stages / "{}.manifest.json".format(stage), options["manifest"])
shutil.copy(stages / "{}.mlir".format(stage), args[args.index("-o") + 1])
