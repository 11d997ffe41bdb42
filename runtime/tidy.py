"""Tidies model-written code before it is tested: `python tidy.py FUNCTION < code`.

Small models wrap the function in examples: prints, asserts and calls at the top level, or
statements left after a `return`. Those lines are removed from the source text (comments and
formatting elsewhere are kept). Well-known standard-library names used without an import (datetime,
math, re, Counter, ...) get their import. Prints JSON:
{"code": ..., "removed": [lines], "added": [imports], "error": ...}.
"""

import ast
import builtins
import json
import sys


def _unreachable(body, drop):
    """Statements after a return/raise/continue/break in the same block."""
    for index, node in enumerate(body):
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(node, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                _unreachable(inner, drop)
        for handler in getattr(node, "handlers", []) or []:
            _unreachable(handler.body, drop)
        if isinstance(node, (ast.Return, ast.Raise, ast.Continue, ast.Break)):
            drop.extend(body[index + 1 :])
            return


def _runs_at_import(node):
    """Top-level statements that do work when the module is imported by the tests."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        # Constants are fine; calling functions at import is not.
        return any(isinstance(n, ast.Call) for n in ast.walk(node))
    if isinstance(node, ast.If):
        test = node.test
        return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
        return False  # a docstring
    return isinstance(node, (ast.Expr, ast.Assert, ast.For, ast.While, ast.With, ast.Try))


# Names small models use without importing them, and the import that defines each.
_STDLIB_NAMES = {
    "datetime": "import datetime",
    "date": "from datetime import date",
    "timedelta": "from datetime import timedelta",
    "math": "import math",
    "re": "import re",
    "json": "import json",
    "string": "import string",
    "itertools": "import itertools",
    "functools": "import functools",
    "collections": "import collections",
    "Counter": "from collections import Counter",
    "defaultdict": "from collections import defaultdict",
    "deque": "from collections import deque",
    "List": "from typing import List",
    "Dict": "from typing import Dict",
    "Optional": "from typing import Optional",
    "Tuple": "from typing import Tuple",
    "Any": "from typing import Any",
}


def _missing_imports(tree):
    """Imports for well-known stdlib names the code uses but never defines."""
    defined = set(dir(builtins))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                used.add(node.id)
            else:
                defined.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                defined.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    wanted = sorted(name for name in used - defined if name in _STDLIB_NAMES)
    return [_STDLIB_NAMES[name] for name in wanted]


def main():
    source = sys.stdin.read()
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        # Models answering in JSON sometimes close the object inside the code string.
        trimmed = source.rstrip().rstrip("}").rstrip() + "\n"
        try:
            tree = ast.parse(trimmed)
            source = trimmed
        except SyntaxError:
            print(json.dumps({"code": source, "removed": [], "error": f"SyntaxError: {error.msg} (line {error.lineno})"}))
            return
    drop = [node for node in tree.body if _runs_at_import(node)]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _unreachable(node.body, drop)
    lines = source.splitlines()
    gone = set()
    for node in drop:
        gone.update(range(node.lineno - 1, (node.end_lineno or node.lineno)))
    removed = [lines[i] for i in sorted(gone) if i < len(lines)]
    kept = [line for i, line in enumerate(lines) if i not in gone]
    # Trailing comments that introduced removed examples are noise too.
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith("#")):
        kept.pop()
    code = "\n".join(kept) + "\n"
    try:
        tree = ast.parse(code)
    except SyntaxError:
        # Removing lines broke it (an emptied block): keep the original.
        code, removed = source, []
        tree = ast.parse(code)
    imports = _missing_imports(tree)
    if imports:
        code = "\n".join(imports) + "\n\n" + code
    print(json.dumps({"code": code, "removed": removed, "added": imports, "error": None}))


if __name__ == "__main__":
    main()
