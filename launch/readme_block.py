"""Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a Markdown
file with standard input (temporary name, then rename), so that the scripts that measure a
results table also write it.

    python3 launch/readme_block.py NAME docs/results.md [--command "CMD" --commit C] < table.md

With --command and --commit, the block starts with its stamp, the line that says which
command made it, from which commit, on which day:

    _Made by `CMD` at commit `abc1234` on 2026-12-06._

The commit is `--commit C`, the one the run started from, which launch/results-stamp.sh
gives (`-dirty` when the build's or the runs' files differed from it; Tests/scripts/docs.sh
rejects such a stamp: a table must come from a build in the history).
"""
import datetime
import os
import sys

args = sys.argv[1:]
def option(flag):
    if flag not in args:
        return None
    i = args.index(flag)
    value = args[i + 1]
    del args[i:i + 2]
    return value


command, commit = option("--command"), option("--commit")
name, path = args
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
text = open(path).read()
if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
    sys.exit(f"readme_block: {path}: needs one '{begin}' line before one '{end}' line")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
body = sys.stdin.read().strip("\n")
if (command is None) != (commit is None):
    sys.exit("readme_block: --command and --commit go together (the stamp names both)")
if command is not None:
    body = f"_Made by `{command}` at commit `{commit}` on {datetime.date.today().isoformat()}._\n\n{body}"
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(f"{head}{begin}\n{body}\n{end}{tail}")
os.replace(tmp, path)
print(f"readme_block: wrote {name} into {path}")
