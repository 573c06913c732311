"""python -m hqdm COMMAND ...: hqdm's Python tools.

  calibrate   run a model's instrumented copy over a calibration set
              (python -m hqdm calibrate --help; same as python -m hqdm.calibrate)
"""

import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(__doc__.lstrip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "calibrate":
        from hqdm import calibrate
        return calibrate.main(rest, prog="python -m hqdm calibrate")
    sys.stderr.write("python -m hqdm: unknown command {!r}\n{}".format(
        command, __doc__.lstrip()))
    return 2


if __name__ == "__main__":
    sys.exit(main())
