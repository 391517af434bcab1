#!/usr/bin/env bash
# The unit tests (swift test: Swift Testing, no MPI), counted from their own XUnit report
# (one <testcase> per test function, with a <failure> inside when it failed) and summed up
# as a "N passed, M failed" line; exits non-zero when swift test does or nothing ran.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
REPORT="$(mktemp -d)"
trap 'rm -rf "$REPORT"' EXIT
swift test --xunit-output "$REPORT/unit.xml"
code=$?
python3 - "$REPORT" <<'PY'
import glob, sys
import xml.etree.ElementTree as ET
cases = [c for f in glob.glob(sys.argv[1] + "/unit*.xml") for c in ET.parse(f).getroot().iter("testcase")]
failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
print(f"{len(cases) - failed} passed, {failed} failed")
sys.exit(0 if cases else 1)
PY
count_code=$?
[ "$code" -eq 0 ] && [ "$count_code" -eq 0 ]
