#!/usr/bin/env bash
#===- utils/test.sh - Set up, build and run every hqdm test --------------===#
#
# Usage: utils/test.sh [--quick]
# Installs what is missing (utils/setup.sh), builds hqdm and runs the whole
# suite with ctest: one test per lit file plus the C++ unit tests, then the
# Python package's pytest suite (python/tests) against that build. Then runs
# ctest again with AddressSanitizer + UndefinedBehaviorSanitizer in
# build-sanitizers/, unless --quick is given. Ends with one summary line.
#
#===----------------------------------------------------------------------===#
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
configs=("build:")
[[ "${1:-}" != "--quick" ]] && configs+=("build-sanitizers:-DHQDM_ENABLE_SANITIZERS=ON")

bash "$root/utils/setup.sh" || exit 1

passed=0
failed=0
for config in "${configs[@]}"; do
  dir="$root/${config%%:*}"
  flags="${config#*:}"
  echo "== ${config%%:*}: building ${flags:-(default flags)}"
  # shellcheck disable=SC2086
  if ! bash "$root/utils/build.sh" "$dir" $flags >"$dir.log" 2>&1; then
    tail -n 40 "$dir.log"
    echo "== ${config%%:*}: the build failed (full log in $dir.log)"
    failed=$((failed + 1))
    continue
  fi
  echo "== ${config%%:*}: running the tests"
  ctest --test-dir "$dir" -j "$(nproc)" --output-on-failure 2>&1 |
    tee "$dir/ctest.log" | grep -vE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed"
  # ctest's summary: "100% tests passed, 0 tests failed out of N".
  summary=$(grep -E "tests passed, [0-9]+ tests failed out of" "$dir/ctest.log")
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  bad=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$summary")
  if [[ -z "$total" ]]; then
    echo "== ${config%%:*}: ctest ran no test"
    failed=$((failed + 1))
    continue
  fi
  passed=$((passed + total - bad))
  failed=$((failed + bad))

  # The Python package's tests (pytest), once, against the default build.
  if [[ "$dir" == "$root/build" ]]; then
    echo "== python: running pytest (python/tests)"
    HQDM_OPT="$dir/bin/hqdm-opt" "$root/.venv/bin/python" -m pytest -q \
      -p no:cacheprovider "$root/python/tests" 2>&1 | tee "$dir/pytest.log" |
      grep -vE "^\.+ *\[ *[0-9]+%\]$"
    # pytest's last line: "N passed, M failed, K errors in T s".
    summary=$(tail -n 1 "$dir/pytest.log")
    py_passed=$(grep -oE "[0-9]+ passed" <<<"$summary" | grep -oE "[0-9]+")
    py_failed=0
    for n in $(grep -oE "[0-9]+ (failed|errors?)" <<<"$summary" | grep -oE "^[0-9]+"); do
      py_failed=$((py_failed + n))
    done
    if [[ -z "$py_passed" && "$py_failed" == 0 ]]; then
      echo "== python: pytest ran no test"
      failed=$((failed + 1))
    fi
    passed=$((passed + ${py_passed:-0}))
    failed=$((failed + ${py_failed:-0}))
  fi
done

if ((failed == 0)); then
  echo "hqdm: all tests passed in ${#configs[@]} configuration(s)"
else
  echo "hqdm: FAILURES (see above)"
fi
echo "tests: $passed passed, $failed failed"
((failed == 0))
