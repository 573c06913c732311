"""hqdm's Python side: ahead-of-time compilation of hqdm modules (`aot`) and
the calibration driver (`calibrate`).

Run with PYTHONPATH pointing at this directory's parent (python/) and an
interpreter that has numpy (the project's .venv, see utils/setup.sh)."""
