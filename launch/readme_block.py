"""Replaces the text between `<!-- NAME:begin -->` and `<!-- NAME:end -->` in a Markdown
file with standard input (temporary name, then rename), so that the scripts that measure a
README table also write it.

    python3 launch/readme_block.py NAME README.md < table.md
"""
import os
import sys

name, path = sys.argv[1], sys.argv[2]
begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
text = open(path).read()
if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
    sys.exit(f"readme_block: {path}: needs one '{begin}' line before one '{end}' line")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
body = sys.stdin.read().strip("\n")
tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(f"{head}{begin}\n{body}\n{end}{tail}")
os.replace(tmp, path)
print(f"readme_block: wrote {name} into {path}")
