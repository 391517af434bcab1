#!/usr/bin/env python3
"""A method's name appears only in its own files (docs/ARCHITECTURE.md, "Methods").

    python3 launch/method_names.py SOURCES

Reads the methods from SOURCES/SprigSparsity/Methods/MethodList.swift
(`SparseTrainingMethod(TYPE.self)`) and each one's config name from its
`static let name = "NAME"`. In every Swift file under SOURCES, with comments and
string contents set apart:
- the literal "NAME" may appear only in the method's own files (flag names given as
  `customLong("...")` are flags, not methods: `--set` is not SET);
- the identifier TYPE may appear in code only in its own files and in MethodList.swift.
A method's own files are those named after its type (`NNrelief.swift`,
`NNreliefPruner.swift`, `Trainer+NNrelief.swift`). Prints one line per stray use and
exits 1 when there is any.
"""
import os
import re
import sys

sources = sys.argv[1]
listing = os.path.join(sources, "SprigSparsity", "Methods", "MethodList.swift")
types = re.findall(r"SparseTrainingMethod\((\w+)\.self\)", open(listing).read())
STRING = re.compile(r'"""[\s\S]*?"""|"(?:\\.|[^"\\\n])*"')


def split(text):
    """(code without comments or string contents, the string literals with their quotes)."""
    literals, code = [], []
    pos = 0
    while pos < len(text):
        m = STRING.search(text, pos)
        c = text.find("//", pos)
        if c != -1 and (m is None or c < m.start()):
            code.append(text[pos:c])
            end = text.find("\n", c)
            pos = len(text) if end == -1 else end
            continue
        if m is None:
            code.append(text[pos:])
            break
        code.append(text[pos:m.start()] + '""')
        before = text[max(0, m.start() - 11):m.start()]
        if not before.endswith("customLong("):
            literals.append(m.group(0))
        pos = m.end()
    return "".join(code), literals


files = {}
for folder, _, names in os.walk(sources):
    for n in names:
        if n.endswith(".swift"):
            path = os.path.join(folder, n)
            files[path] = split(open(path).read())

problems = []
for t in types:
    own = [p for p in files if os.path.basename(p).startswith(t) or f"+{t}" in os.path.basename(p)]
    names = [re.search(r'static let name = "(\w+)"', open(p).read()) for p in own]
    names = [m.group(1) for m in names if m]
    if len(names) != 1:
        problems.append(f"{t}: no file named after it declares `static let name = \"...\"`")
        continue
    name = names[0]
    word = re.compile(rf"\b{re.escape(t)}\b")
    for path, (code, literals) in sorted(files.items()):
        if path in own:
            continue
        if f'"{name}"' in literals:
            problems.append(f'{path}: the method name "{name}" outside {t}\'s own files')
        if path != listing and word.search(code):
            line = next(i for i, l in enumerate(open(path).read().split("\n"), 1) if word.search(split(l)[0]))
            problems.append(f"{path}:{line}: {t} named outside its own files")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
