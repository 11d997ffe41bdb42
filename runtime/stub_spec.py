"""A task that carries a Python stub (a signature with a docstring) says more than prose: the
function's exact name, parameters and types, and its doctest examples, which are test cases with
their expected values. Reads the task on stdin; prints one JSON line:
{"function": {...}, "problem": docstring, "cases": [{"name", "input", "expected"}]} or {} when the
task holds no usable stub. Parsing only: nothing in the task is run.
"""

import ast
import doctest
import json
import re
import sys


def code_of(task):
    """The first fenced code block, else the task from its first line of code on (a pasted stub
    often follows a line of prose: "Implement this:")."""
    match = re.search(r"```(?:python|py)?\n(.*?)(?:```|$)", task, re.S)
    if match:
        return match.group(1)
    code = re.search(r"^(?:from |import |def |async def |@)", task, re.M)
    return task[code.start():] if code else task


def literal(node):
    return ast.literal_eval(node)


def annotation(node):
    return ast.unparse(node) if node is not None else ""


def case_from(func, params, source, want):
    """One case from a call's source and its expected value's source, or None."""
    try:
        call = ast.parse(source.strip(), mode="eval").body
        try:
            expected = ast.literal_eval(want.strip())
        except (SyntaxError, ValueError):
            # A doctest's expected output runs on until a blank line, so prose that follows
            # without one is part of it: the first line alone is the value.
            expected = ast.literal_eval(want.strip().splitlines()[0])
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, IndexError):
        return None
    # `round(f(...), 2)` is how doctests show a float: the inner call, compared approximately.
    check = "equals"
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "round"
        and call.args
        and isinstance(expected, (int, float))
    ):
        call, check = call.args[0], "approx"
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == func.name):
        return None
    try:
        args = [literal(a) for a in call.args]
        kwargs = {k.arg: literal(k.value) for k in call.keywords if k.arg}
    except (ValueError, TypeError, SyntaxError):
        return None
    if len(args) > len(params):
        return None
    given = dict(zip(params, args))
    given.update(kwargs)
    if set(given) != set(params):
        return None
    try:
        json.dumps(given)
        json.dumps(expected)
    except (TypeError, ValueError):
        return None
    return {"input": given, "expected": expected, "check": check}


# Examples written as prose lines: `f(1, 2) => 3`, `f(1, 2) ➞ 3`, `f(1, 2) == 3`, `f(1, 2) -> 3`.
PROSE_EXAMPLE = re.compile(r"^\s*(\w+\(.*\))\s*(?:=>|➞|==|->)\s*(.+?)\s*$")


def cases_from(func, params, docstring):
    found = []
    try:
        for example in doctest.DocTestParser().get_examples(docstring):
            found.append(case_from(func, params, example.source, example.want))
    except ValueError:
        pass
    for line in docstring.splitlines():
        match = PROSE_EXAMPLE.match(line)
        if match and not line.lstrip().startswith(">>>"):
            found.append(case_from(func, params, match.group(1), match.group(2)))
    cases = []
    for case in found:
        if case and not any(c["input"] == case["input"] for c in cases):
            cases.append({"name": f"docstring_{len(cases) + 1}", **case})
    return cases


def main():
    task = sys.stdin.read()
    try:
        tree = ast.parse(code_of(task))
    except SyntaxError:
        print("{}")
        return
    named = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", task)
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    funcs = [f for f in funcs if ast.get_docstring(f)]
    if not funcs:
        print("{}")
        return
    # The function the task names, else the last one with a docstring (helpers come first).
    func = next((f for f in funcs if f.name in named), funcs[-1])
    if func.args.vararg or func.args.kwarg or func.args.posonlyargs:
        print("{}")
        return
    params = [a.arg for a in func.args.args]
    docstring = ast.get_docstring(func) or ""
    out = {
        "function": {
            "name": func.name,
            "parameters": [{"name": a.arg, "type": annotation(a.annotation)} for a in func.args.args],
            "returns": annotation(func.returns),
        },
        "problem": docstring.split("\n>>>")[0].split("For example")[0].strip(),
        "cases": cases_from(func, params, docstring),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
