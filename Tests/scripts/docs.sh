#!/usr/bin/env bash
# The documentation says true, current things:
# - every results block (`<!-- NAME:begin -->` ... `<!-- NAME:end -->`) in README.md and
#   docs/*.md starts with its stamp, `_Made by `CMD` at commit `HASH` on DATE._`, whose commit
#   is in this history (a figure from a build that is gone fails), and every table in
#   docs/results.md is inside such a block;
# - every config key that the config reader asks for (Sources/SprigTraining/Config), and every
#   method's own key (`MethodOption` in Sources/SprigSparsity/Methods), appears
#   as `key:` in docs/guide.md's "Config keys" section, and every flag of every sprig
#   subcommand (`sprig SUBCOMMAND --help`) in its "Flags" section, so a new key or flag
#   cannot go undocumented.
# The checker is first shown to fail on a stamp from a commit not in the history, on a
# table outside a block, and on an undocumented key and flag.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
cd "$ROOT"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# stamps RESULTS FILE...: checks the blocks of FILEs; RESULTS (one of them) holds tables only
# inside blocks. Prints one line per problem, exits 1 when there is any.
stamps() {
  python3 - "$@" <<'PY'
import re, subprocess, sys
results, files = sys.argv[1], sys.argv[2:]
stamp = re.compile(r"^_Made by `.+` at commit `([0-9a-f]{7,40})` on \d{4}-\d{2}-\d{2}\._$")
problems, blocks = [], 0
for path in files:
    lines = open(path).read().split("\n")
    inside = None
    for n, line in enumerate(lines, 1):
        m = re.match(r"^<!-- ([a-z0-9-]+):(begin|end) -->$", line.strip())
        if m and m.group(2) == "begin":
            inside = m.group(1)
            blocks += 1
            body = [l for l in lines[n:] if l.strip()][:1]
            s = stamp.match(body[0].strip()) if body else None
            if not s:
                problems.append(f"{path}:{n}: block {inside} does not start with a stamp (_Made by `CMD` at commit `HASH` on DATE._)")
                continue
            commit = s.group(1)
            known = subprocess.run(["git", "cat-file", "-e", commit + "^{commit}"], capture_output=True).returncode == 0
            ours = known and subprocess.run(["git", "merge-base", "--is-ancestor", commit, "HEAD"], capture_output=True).returncode == 0
            if not ours:
                problems.append(f"{path}:{n}: block {inside}: commit {commit} is not in this history (a build that is gone)")
        elif m:
            inside = None
        elif path == results and inside is None and line.startswith("|"):
            problems.append(f"{path}:{n}: a table outside a stamped block")
for p in problems:
    print(p)
print(f"{blocks} stamped blocks, {len(problems)} problems")
sys.exit(1 if problems or blocks == 0 else 0)
PY
}

# documented GUIDE: checks that GUIDE documents every config key and every flag.
documented() {
  python3 - "$1" "$SPRIG" <<'PY'
import glob, re, subprocess, sys
guide, sprig = sys.argv[1], sys.argv[2]
text = open(guide).read()
def section(title):
    m = re.search(rf"^## {title}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""
keys_text, flags_text = section("Config keys"), section("Flags")
keys = set()
for path in glob.glob("Sources/SprigTraining/Config/*.swift"):
    keys |= set(re.findall(r'\.(?:int|double|bool|string|intList|doubleMap|section|isSection|has|stringList)\("([a-z_0-9]+)"',
                           open(path).read()))
# and each method's own keys, declared in its file (Sources/SprigSparsity/Methods)
for path in glob.glob("Sources/SprigSparsity/Methods/*.swift"):
    keys |= set(re.findall(r'MethodOption\("([a-z_0-9]+)"', open(path).read()))
missing = sorted(k for k in keys if not re.search(rf"(^|[\s{{,]){k}:", keys_text, re.M))
out = subprocess.run([sprig, "--help"], capture_output=True, text=True).stdout
subcommands = re.findall(r"^  ([a-z]+) ", out.split("SUBCOMMANDS:")[1], re.M)
flags = set()
for sub in subcommands:
    help_text = subprocess.run([sprig, sub, "--help"], capture_output=True, text=True).stdout
    flags |= {(sub, f) for f in re.findall(r"(--[a-z][a-z0-9-]*)", help_text) if f != "--help"}
undocumented = sorted(f"{s} {f}" for s, f in flags if not re.search(rf"{re.escape(f)}(?![a-z0-9-])", flags_text))
for k in missing:
    print(f"{guide}: config key '{k}' is read by Sources/SprigTraining/Config but not documented under '## Config keys'")
for f in undocumented:
    print(f"{guide}: flag 'sprig {f}' is not documented under '## Flags'")
print(f"{len(keys)} config keys, {len(flags)} flags of {len(subcommands)} subcommands; "
      f"{len(missing)} keys and {len(undocumented)} flags undocumented")
sys.exit(1 if missing or undocumented or not keys or not flags else 0)
PY
}

# The checker fails where it must.
head_commit="$(git rev-parse --short HEAD)"
printf '# r\n\n<!-- t:begin -->\n_Made by `x` at commit `%s` on 2026-01-01._\n\n| a |\n|---|\n<!-- t:end -->\n' "$head_commit" > "$WORK/good.md"
sed "s/$head_commit/0123abc/" "$WORK/good.md" > "$WORK/gone.md"
printf '# r\n\n| a |\n|---|\n' > "$WORK/loose.md"
stamps "$WORK/good.md" "$WORK/good.md" > "$WORK/out" 2>&1; check_code "the stamp check passes a block stamped with HEAD" $?
stamps "$WORK/gone.md" "$WORK/gone.md" > "$WORK/out" 2>&1; code=$?
check "the stamp check fails a commit not in the history" test "$code" -ne 0 -a -n "$(grep 'not in this history' "$WORK/out")"
stamps "$WORK/loose.md" "$WORK/loose.md" > "$WORK/out" 2>&1; code=$?
check "the stamp check fails a results table outside a block" test "$code" -ne 0 -a -n "$(grep 'outside a stamped block' "$WORK/out")"
grep -v "^ *normalize:\|--pruning-set" docs/guide.md > "$WORK/guide.md"
documented "$WORK/guide.md" > "$WORK/out" 2>&1; code=$?
check "the documentation check fails an undocumented key and flag" \
  test "$code" -ne 0 -a -n "$(grep "config key 'normalize'" "$WORK/out")" -a -n "$(grep "prune --pruning-set" "$WORK/out")"

# The documentation itself.
stamps docs/results.md README.md docs/*.md > "$WORK/out" 2>&1; code=$?
cat "$WORK/out"
check_code "every results block is stamped with a commit in this history; results tables only in blocks" "$code"
documented docs/guide.md > "$WORK/out" 2>&1; code=$?
cat "$WORK/out"
check_code "docs/guide.md documents every config key and every flag" "$code"
readme_lines=$(wc -l < README.md)
check "README.md keeps to about 300 lines ($readme_lines)" test "$readme_lines" -le 320
finish
