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


def cases_from(func, params, docstring):
    cases = []
    try:
        examples = doctest.DocTestParser().get_examples(docstring)
    except ValueError:
        return cases
    for example in examples:
        try:
            call = ast.parse(example.source.strip(), mode="eval").body
            expected = ast.literal_eval(example.want.strip())
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            continue
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
            continue
        try:
            args = [literal(a) for a in call.args]
            kwargs = {k.arg: literal(k.value) for k in call.keywords if k.arg}
        except (ValueError, TypeError, SyntaxError):
            continue
        if len(args) > len(params):
            continue
        given = dict(zip(params, args))
        given.update(kwargs)
        if set(given) != set(params):
            continue
        try:
            json.dumps(given)
            json.dumps(expected)
        except (TypeError, ValueError):
            continue
        cases.append({"name": f"docstring_{len(cases) + 1}", "input": given, "expected": expected, "check": check})
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
