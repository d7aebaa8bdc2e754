"""Which line of a YAML file a validation problem points at.

Why a module of its own: the catalogue loader and the discovery rules name a problem by its
path inside the file (``elements[3].deadlines``, ``E0101.keywords``) or by a YAML mark
(``line 12``); the configuration page puts each problem next to that line, for the catalogue
and the rules editors alike.
"""

from __future__ import annotations

import re


def line_of(text: str, problem: str) -> int | None:
    """The 1-based line a problem points at: a YAML error's mark, else the first line that
    holds the problem's leading identifier (an element code, a rule id)."""
    m = re.search(r"line (\d+)", problem)
    if m:
        return int(m.group(1))
    m = re.search(r"(\w+)\[(\d+)\](?:\.(\w+))?", problem)
    if m:
        found = _line_of_item(text.splitlines(), m.group(1), int(m.group(2)), m.group(3))
        if found:
            return found
    head = re.split(r"[:\s]", problem.split(": ", 1)[1] if problem.count(": ") >= 2 else problem)[0]
    key = head.split(".")[0].split("[")[0].strip()
    if not key or len(key) < 3:
        return None
    for i, line in enumerate(text.splitlines(), 1):
        if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", line):
            return i
    return None


def _line_of_item(lines: list[str], section: str, index: int, key: str | None) -> int | None:
    """The line of ``section[index].key`` in block-style YAML (the files' own style)."""
    start = next((i for i, ln in enumerate(lines) if re.match(rf"^\s*{section}:\s*$", ln)), None)
    if start is None:
        return None
    items = [i for i in range(start + 1, len(lines)) if re.match(r"^\s*- ", lines[i])]
    indent = len(lines[items[0]]) - len(lines[items[0]].lstrip()) if items else 0
    items = [i for i in items if len(lines[i]) - len(lines[i].lstrip()) == indent]
    if index >= len(items):
        return None
    first = items[index]
    end = items[index + 1] if index + 1 < len(items) else len(lines)
    if key:
        for i in range(first, end):
            if re.match(rf"^\s*(- )?{key}:", lines[i]):
                return i + 1
    return first + 1
