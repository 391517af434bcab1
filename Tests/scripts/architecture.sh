#!/usr/bin/env bash
# The architecture holds (docs/ARCHITECTURE.md):
# - every module a target's sources import is one of the target's declared dependencies
#   (Package.swift, read through `swift package dump-package`), or a system module: SwiftPM
#   makes a wrong-way import between library layers a circular dependency, but it lets a
#   target import what a dependency depends on (SprigTraining could import MPI through
#   SprigDistributed), which this check refuses;
# - among the library targets only SprigDistributed imports MPI;
# - no Swift source file is longer than 300 lines;
# - a method's name (its config name, its type) appears only in its own files
#   (launch/method_names.py): the rest of Sprig reads a method's traits, never its name.
# A negative control plants a wrong-way import, an MPI import in SprigTraining and a long
# file in a copy of the sources, and the check must name all three.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && swift package dump-package) >"$WORK/package.json" 2>"$WORK/dump.err"
code=$?
check_code "swift package dump-package reads Package.swift" "$code" "$(tail -2 "$WORK/dump.err")"

# layering SOURCES: prints one line per violation, exits 1 when there is any
layering() {
  python3 - "$WORK/package.json" "$1" <<'PY'
import json, os, re, sys
package = json.load(open(sys.argv[1]))
sources = sys.argv[2]
system = {"Foundation", "Glibc", "Darwin", "Dispatch", "Testing", "XCTest", "Synchronization"}
problems = []
for target in package["targets"]:
    if target["type"] not in ("regular", "executable", "test"):
        continue
    deps = set()
    for d in target["dependencies"]:
        for kind in ("byName", "target", "product"):
            if kind in d:
                deps.add(d[kind][0])
    root = os.path.join(sources if target["type"] != "test" else sources + "/../Tests", target["name"])
    for folder, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".swift"):
                continue
            path = os.path.join(folder, f)
            lines = open(path).read().split("\n")
            if len(lines) - 1 > 300:
                problems.append(f"{path}: {len(lines) - 1} lines (at most 300)")
            for n, line in enumerate(lines, 1):
                m = re.match(r"\s*(?:@\w+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+"
                             r"(?:(?:struct|class|enum|protocol|typealias|func|var|let)\s+)?(\w+)", line)
                if not m:
                    continue
                module = m.group(1)
                if module in system:
                    continue
                if module not in deps:
                    problems.append(f"{path}:{n}: {target['name']} imports {module}, not one of its dependencies {sorted(deps)}")
                if module == "MPI" and target["type"] == "regular" and target["name"] not in ("SprigDistributed", "MPI"):
                    problems.append(f"{path}:{n}: {target['name']} imports MPI (only SprigDistributed may)")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
PY
}

layering "$ROOT/Sources" >"$WORK/found" 2>&1
code=$?
check_code "every import is a declared dependency, only SprigDistributed imports MPI, no file over 300 lines" "$code" \
  "$(head -5 "$WORK/found" | tr '\n' ' ')"

python3 "$ROOT/launch/method_names.py" "$ROOT/Sources" >"$WORK/names" 2>&1
code=$?
check_code "each method's name appears only in its own files ($(grep -c '^        SparseTrainingMethod(' "$ROOT/Sources/SprigSparsity/Methods/MethodList.swift") methods listed)" \
  "$code" "$(head -5 "$WORK/names" | tr '\n' ' ')"

# negative control: the same check on a copy with three planted violations
cp -r "$ROOT/Sources" "$WORK/Sources"
mkdir -p "$WORK/Tests"
sed -i '1i import SprigSparsity' "$WORK/Sources/SprigLayers/ReLU.swift"
sed -i '1i public import MPI' "$WORK/Sources/SprigTraining/Loop/EpochReport.swift"
for _ in $(seq 1 301); do echo "// filler" >>"$WORK/Sources/SprigTensor/Matrix.swift"; done
layering "$WORK/Sources" >"$WORK/planted" 2>&1
code=$?
check "the check names a wrong-way import, MPI in SprigTraining and a long file ($(wc -l <"$WORK/planted") problems)" \
  test "$code" -eq 1 \
  -a -n "$(grep 'SprigLayers imports SprigSparsity' "$WORK/planted")" \
  -a -n "$(grep 'SprigTraining imports MPI (only SprigDistributed may)' "$WORK/planted")" \
  -a -n "$(grep 'Matrix.swift: [0-9]* lines' "$WORK/planted")"
# and a method named outside its file, by its config name and by its type
sed -i 's/let updatesMasks = policy?.updatesMasks(atStep: t) ?? false/let updatesMasks = (policy is SRigL) || policy?.updatesMasks(atStep: t) ?? false/' \
  "$WORK/Sources/SprigTraining/Loop/TrainingStep.swift"
sed -i 's/    public var tileBudgetMB: Int = 64/    public var tileBudgetMB: Int = method.name == "granet" ? 32 : 64/' "$WORK/Sources/SprigTraining/Config/SparsitySettings.swift"
python3 "$ROOT/launch/method_names.py" "$WORK/Sources" >"$WORK/planted-names" 2>&1
code=$?
check "the name check names a method's type and its config name outside its files ($(wc -l <"$WORK/planted-names") problems)" \
  test "$code" -eq 1 \
  -a -n "$(grep 'TrainingStep.swift:[0-9]*: SRigL named outside its own files' "$WORK/planted-names")" \
  -a -n "$(grep 'SparsitySettings.swift: the method name "granet" outside GraNet' "$WORK/planted-names")"
finish
