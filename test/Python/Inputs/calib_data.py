"""calibrate.test: writes the calibration sets of the stages in calib_stages/
(x: 3x8 floats, t: 3 timesteps per call) into OUT_DIR, good and bad ones.

Usage: calib_data.py OUT_DIR"""

import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)

# Ten calls over four steps, not in order. Only the first element of a call's
# timestep argument is its step; the others differ on purpose.
steps = [249, 999, 499, 999, 249, 749, 999, 499, 749, 249]
t = np.array([[s, s - 1, 3] for s in steps], dtype=np.int32)
# float64 on disk: the driver casts to the manifest's f32 (and t to i64).
x = rng.normal(0.0, 1.0, size=(len(steps), 3, 8)) * np.linspace(
    0.2, 2.5, 8) + np.array(steps)[:, None, None] / 1000.0

np.savez(out / "data.npz", arg0=x, arg1=t)
save_file({"arg0": x.astype(np.float32), "arg1": t.astype(np.int64)},
          str(out / "data.safetensors"))
(out / "data_dir").mkdir(exist_ok=True)
np.save(out / "data_dir" / "arg0.npy", x.astype(np.float32))
np.save(out / "data_dir" / "arg1.npy", t)

# Bad sets.
np.savez(out / "missing.npz", arg0=x)
np.savez(out / "shape.npz", arg0=x[:, :, :7], arg1=t)
np.savez(out / "rank.npz", arg0=x[0], arg1=t)
np.savez(out / "empty.npz", arg0=x[:0], arg1=t[:0])
np.savez(out / "calls.npz", arg0=x, arg1=t[:9])
np.savez(out / "fractional.npz", arg0=x, arg1=t + 0.5)
np.savez(out / "strings.npz", arg0=x, arg1=np.array([["a"] * 3] * 10))
save_file({"arg0": x.astype(np.float32)}, str(out / "missing.safetensors"))
(out / "unknown.txt").write_text("not data\n")
