"""Every GoogleTest case a doc cites (`Suite.Case` in back-quotes) exists as TEST(Suite, Case)
under tests/, so that a row of docs/bad-inputs.md cannot outlive the test behind it.

usage: cited_tests_exist.py TESTS_DIR DOC.md...
"""
import pathlib
import re
import sys

tests_dir = pathlib.Path(sys.argv[1])
defined = set()
for source in tests_dir.rglob("*.cpp"):
    for suite, case in re.findall(r"\bTEST(?:_F|_P)?\(\s*(\w+)\s*,\s*(\w+)\s*\)", source.read_text(errors="replace")):
        defined.add(f"{suite}.{case}")

missing = []
cited = 0
for doc in sys.argv[2:]:
    for name in re.findall(r"`([A-Z]\w*\.[A-Z]\w*)`", pathlib.Path(doc).read_text()):
        cited += 1
        if name not in defined:
            missing.append(f"{doc}: {name}")
if cited == 0:
    sys.exit(f"no test cited in {sys.argv[2:]}: the pattern no longer matches the docs")
if missing:
    sys.exit("cited tests that do not exist:\n  " + "\n  ".join(missing))
print(f"{cited} cited tests, all defined")
