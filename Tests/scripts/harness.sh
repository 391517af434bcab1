# Shared by the script tests: counts checks and prints PASS/FAIL lines. Source it, call
# `check NAME COMMAND...` (or `pass`/`fail` directly), and end with `finish`, which prints
# "N passed, M failed" and exits non-zero when anything failed.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SPRIG="${SPRIG:-$ROOT/.build/release/sprig}"
MPIRUN="$ROOT/launch/mpirun.sh"
PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL $1${2:+: $2}"; }
check() { local name="$1"; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; }
[ -x "$SPRIG" ] || { echo "harness: $SPRIG is not built (swift build -c release)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1
