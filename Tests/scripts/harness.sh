# Shared by the script tests: counts checks and prints PASS/FAIL lines. Source it, call
# `check NAME COMMAND...` (or `pass`/`fail` directly), and end with `finish`, which prints
# "N passed, M failed" and exits non-zero when anything failed (or when nothing was checked).
#
# A check's verdict must come from the command it runs, never from `$?` read in the same
# line as a command substitution: in `check "x ($(tail f))" test $? -eq 0` bash expands
# `$?` after the substitution, so it is always 0. Record an exit status first
# (`cmd; code=$?`), then pass it (`check_code NAME "$code"`), or use the helpers below.
#
# SPRIG names the binary under test (a wrapper around it in Tests/scripts/mutations.sh);
# comparisons of weight files always use the built binary, REFERENCE_SPRIG.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SPRIG="${SPRIG:-$ROOT/.build/release/sprig}"
REFERENCE_SPRIG="${REFERENCE_SPRIG:-$ROOT/.build/release/sprig}"
MPIRUN="$ROOT/launch/mpirun.sh"
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
check() { local name="$1"; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
# check_code NAME CODE [DETAIL]: passes when CODE (an exit status recorded before) is 0.
check_code() { if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "exit $2${3:+; $3}"; fi; }
# same_weights NAME A B: passes when the safetensors files A and B both exist and hold the
# same tensor names, shapes and bits (sprig compare --tolerance 0).
same_weights() {
  local name="$1" a="$2" b="$3" out code
  if [ ! -s "$a" ] || [ ! -s "$b" ]; then
    fail "$name" "no weights written:$([ -s "$a" ] || echo " $a")$([ -s "$b" ] || echo " $b")"
    return
  fi
  out="$("$REFERENCE_SPRIG" compare "$a" "$b" --tolerance 0 2>&1)"
  code=$?
  if [ "$code" -eq 0 ]; then pass "$name ($(echo "$out" | tail -1))"; else fail "$name" "$(echo "$out" | tail -1)"; fi
}
# metrics_of FILE: of every line of a metrics file, the losses and accuracies to the last
# digit and the numbers of mask updates and active weights (prune's stage lines have no loss)
metrics_of() {
  grep -o '"train_loss": [^,]*\|"test_accuracy": [^,]*\|"mask_updates": [0-9]*\|"active_weights": [0-9]*' "$1" 2>/dev/null
}
# same_metrics NAME A B: the metrics files A and B have the same metrics_of values.
same_metrics() {
  local name="$1" a b d
  a="$(metrics_of "$2")"; b="$(metrics_of "$3")"
  if [ -z "$a" ]; then fail "$name" "no metrics in $2"
  elif [ "$a" = "$b" ]; then pass "$name ($(echo "$a" | wc -l) values)"
  else
    d="$(diff <(echo "$a") <(echo "$b"))"
    fail "$name" "first difference: $2 has $(echo "$d" | grep -m1 '^<' | cut -c3-), $3 has $(echo "$d" | grep -m1 '^>' | cut -c3-)"
  fi
}
# wait_for_line FILE PATTERN SECONDS [PID]: waits until FILE has a line matching PATTERN;
# fails early when PID (the job writing FILE) has ended. Returns 0 when the line came.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then grep -qE "$2" "$1" 2>/dev/null; return; fi
    sleep 0.2
  done
  return 1
}
# numpy_python: prints the Python of the suites' venv (SPRIG_PY_VENV, default runs/.py-venv),
# with NumPy and safetensors from PyPI installed into it when missing.
numpy_python() {
  local venv="${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}"
  if ! "$venv/bin/python" -c "import numpy, safetensors" 2>/dev/null; then
    { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } && "$venv/bin/pip" install --quiet numpy safetensors >&2 || return 1
  fi
  echo "$venv/bin/python"
}
# mnist_formats MNIST_DIR: prints the folder that holds MNIST written in the other formats
# Sprig reads (Tests/scripts/make_formats.py: npz, npz-float, npz-nhwc, cifar10, cifar100,
# and crc.txt, the CRC-32s Sprig must read), made once with NumPy under data/ and made again
# when the script changes. The files are written under a temporary name, then renamed.
mnist_formats() {
  local out="$ROOT/data/mnist-formats" py stamp
  stamp="$(cat "$ROOT/Tests/scripts/make_formats.py" "$1/train-labels-idx1-ubyte" 2>/dev/null | sha256sum | cut -c1-16)"
  if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$stamp" ]; then
    py="$(numpy_python)" || return 1
    rm -rf "$out.part" && mkdir -p "$out.part" \
      && "$py" "$ROOT/Tests/scripts/make_formats.py" "$1" "$out.part" > "$out.part/crc.txt" \
      && echo "$stamp" > "$out.part/.stamp" && rm -rf "$out" && mv "$out.part" "$out" || return 1
  fi
  echo "$out"
}
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ $((PASSED + FAILED)) -gt 0 ] || { echo "harness: no check ran"; return 1; }
  [ "$FAILED" -eq 0 ]
}
[ -x "$SPRIG" ] || { echo "harness: $SPRIG is not built (swift build -c release)" >&2; exit 1; }
[ -x "$REFERENCE_SPRIG" ] || { echo "harness: $REFERENCE_SPRIG is not built (swift build -c release)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1
