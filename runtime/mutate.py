"""Small mutants of a verified function, to measure how strong its tests are.

Reads {"code": source, "max": n} as JSON on stdin and writes a JSON list of
{"where": "line 3", "change": "`<` -> `<=`", "code": mutated source} on stdout. Each mutant
changes one place: an arithmetic operator, a comparison (boundaries included), a boolean
operator, a `not`, a numeric or boolean constant, `min`/`max` or `any`/`all`. Docstrings and
the harness are left alone. The engine runs the spec's cases against each mutant; a mutant
the tests do not fail "survives". This file only parses: the code is never executed here (and
it runs inside the sandbox all the same, since the code is hostile until proven otherwise).
"""

from __future__ import annotations

import ast
import copy
import json
import sys
from typing import Any, Optional

BINARY_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
}
COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
NAME_SWAPS = {"min": "max", "max": "min", "any": "all", "all": "any"}
SYMBOLS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.And: "and",
    ast.Or: "or",
}

def _docstring_ids(tree: ast.AST) -> set[int]:
    """Constants no mutant touches: docstrings, and parameter defaults (the spec's cases pass
    every argument, so a changed default would survive without saying anything about them)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            for default in [*node.defaults, *node.kw_defaults]:
                if default is not None:
                    ids.update(id(n) for n in ast.walk(default))
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _sites_of(node: ast.AST, skip: set[int]) -> list[tuple[str, Any]]:
    """The mutations possible at `node` itself (not its children): (what changes, the new value
    that _apply puts in)."""
    out: list[tuple[str, Any]] = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in BINARY_SWAPS:
        new = BINARY_SWAPS[type(node.op)]
        out.append((f"`{SYMBOLS[type(node.op)]}` -> `{SYMBOLS[new]}`", new))
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                new = COMPARE_SWAPS[type(op)]
                out.append((f"`{SYMBOLS[type(op)]}` -> `{SYMBOLS[new]}`", (i, new)))
    elif isinstance(node, ast.BoolOp):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        out.append((f"`{SYMBOLS[type(node.op)]}` -> `{SYMBOLS[new]}`", new))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("`not x` -> `x`", None))  # replaced by its operand in mutants()
    elif isinstance(node, ast.Constant) and id(node) not in skip:
        value = node.value
        if isinstance(value, bool):
            out.append((f"`{value}` -> `{not value}`", not value))
        elif isinstance(value, int):
            new_int = 1 if value == 0 else (0 if value == 1 else value + 1)
            out.append((f"`{value}` -> `{new_int}`", new_int))
        elif isinstance(value, float):
            out.append((f"`{value}` -> `{value + 1.0}`", value + 1.0))
    elif isinstance(node, ast.Name) and node.id in NAME_SWAPS and isinstance(node.ctx, ast.Load):
        out.append((f"`{node.id}` -> `{NAME_SWAPS[node.id]}`", NAME_SWAPS[node.id]))
    return out


def _apply(node: ast.AST, new: Any) -> None:
    """Puts one site's new value in place (see _sites_of)."""
    if isinstance(node, (ast.BinOp, ast.AugAssign, ast.BoolOp)):
        node.op = new()
    elif isinstance(node, ast.Compare):
        i, op = new
        ops = list(node.ops)
        ops[i] = op()
        node.ops = ops
    elif isinstance(node, ast.Constant):
        node.value = new
    elif isinstance(node, ast.Name):
        node.id = new


class _Replace(ast.NodeTransformer):
    """Replaces the node at one walk index (a `not`) by its operand."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.index = -1

    def visit(self, node: ast.AST) -> Any:
        self.index += 1
        if self.index == self.target and isinstance(node, ast.UnaryOp):
            return self.generic_visit(node.operand)
        return super().visit(node)


def _walk(tree: ast.AST) -> list[ast.AST]:
    """Nodes in the order _Replace visits them."""
    out: list[ast.AST] = []

    def go(node: ast.AST) -> None:
        out.append(node)
        for child in ast.iter_child_nodes(node):
            go(child)

    go(tree)
    return out


def mutants(code: str, limit: int) -> list[dict[str, str]]:
    tree = ast.parse(code)
    skip = _docstring_ids(tree)
    sites: list[tuple[int, int, str]] = []  # (walk index, site number at that node, description)
    for index, node in enumerate(_walk(tree)):
        for number, (change, _) in enumerate(_sites_of(node, skip)):
            sites.append((index, number, change))
    if len(sites) > limit > 0:
        # Spread the sample over the whole function, deterministically.
        step = len(sites) / limit
        sites = [sites[int(i * step)] for i in range(limit)]
    out = []
    original = ast.unparse(tree)
    for index, number, change in sites:
        copy_tree = copy.deepcopy(tree)
        nodes = _walk(copy_tree)
        target = nodes[index]
        copy_skip = _docstring_ids(copy_tree)
        _, new = _sites_of(target, copy_skip)[number]
        if isinstance(target, ast.UnaryOp) and isinstance(target.op, ast.Not):
            copy_tree = _Replace(index).visit(copy_tree)
        else:
            _apply(target, new)
        ast.fix_missing_locations(copy_tree)
        try:
            mutated = ast.unparse(copy_tree)
        except (ValueError, TypeError, RecursionError):
            continue
        if mutated == original:
            continue
        line: Optional[int] = getattr(target, "lineno", None)
        out.append({"where": f"line {line}" if line else "", "change": change, "code": mutated + "\n"})
    return out


def main() -> None:
    request = json.loads(sys.stdin.read() or "{}")
    code = str(request.get("code", ""))
    limit = int(request.get("max", 40))
    try:
        found = mutants(code, limit)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return
    print(json.dumps({"mutants": found}))


if __name__ == "__main__":
    main()
