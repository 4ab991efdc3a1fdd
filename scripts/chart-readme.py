#!/usr/bin/env python3
"""Writes the values table of charts/registry/README.md from values.yaml and its `# --`
comments (between the "## Values" heading and the end). With --check, fails when the README
is stale or a value has no description, instead of writing."""
import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parent.parent / "charts" / "registry"
LEAVES = ("resources", "parameters")  # maps shown whole


def comments(text):
    found, stack, pending = {}, [], None
    for line in text.splitlines():
        m = re.match(r"^(\s*)# -- (.*)$", line)
        if m:
            pending = m.group(2)
            continue
        if not line.strip() or line.strip().startswith("#"):
            continue
        m = re.match(r"^(\s*)([A-Za-z0-9_]+):", line)
        if not m:
            continue
        stack = stack[: len(m.group(1)) // 2] + [m.group(2)]
        if pending:
            found[".".join(stack)] = pending
            pending = None
    return found


def rows(values, notes):
    out = []

    def walk(x, path):
        if isinstance(x, dict) and x and not (path and path[-1] in LEAVES):
            for k, v in x.items():
                walk(v, path + [k])
        else:
            key = ".".join(path)
            out.append((key, json.dumps(x, ensure_ascii=False), notes.get(key, "")))

    walk(values, [])
    return out


def main():
    text = (CHART / "values.yaml").read_text()
    table = rows(yaml.safe_load(text), comments(text))
    missing = [k for k, _, c in table if not c]
    if missing:
        sys.exit("values without a `# --` description in values.yaml: " + ", ".join(missing))
    lines = ["| value | default | meaning |", "|---|---|---|"] + [f"| `{k}` | `{d}` | {c} |" for k, d, c in table]
    readme = (CHART / "README.md").read_text()
    head = readme.split("## Values", 1)[0]
    new = head + "## Values\n\n" + "\n".join(lines) + "\n"
    if "--check" in sys.argv:
        if new != readme:
            sys.exit("charts/registry/README.md is stale: run scripts/chart-readme.py")
        print(f"chart README: {len(table)} values, each described")
        return
    (CHART / "README.md").write_text(new)
    print(f"wrote charts/registry/README.md ({len(table)} values)")


if __name__ == "__main__":
    main()
