"""A task that carries a Python stub (a signature with a docstring) says more than prose: the
function's exact name, parameters and types, and its examples, which are test cases with their
expected values: doctests, and the ways authors write them in prose (`f(x) => y`, `f(x) returns y`,
`Input: x` / `Output: y`, `For x = 1 the output should be y`, ...). Reads the task on stdin; prints one JSON line:
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


WORDS = {"true": True, "false": False, "none": None, "null": None}


def literal_or_word(text):
    """A Python literal, or a JavaScript habit (`true`, `null`); raises ValueError otherwise."""
    if text.lower() in WORDS:
        return WORDS[text.lower()]
    try:
        return ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        raise ValueError(text) from None


def value_of(text):
    """The expected value written after an example, or raises ValueError. Prose trails it: a full
    stop, a comment, an explanation in brackets; `19 - 5 - 6 = 8` ends with the value."""
    text = text.strip()
    # `3.` ends a sentence more often than it writes the float 3.0.
    candidates = [text.rstrip(".").rstrip(), text]
    if "=" in text:
        candidates.append(text.rsplit("=", 1)[1].strip().rstrip(".").rstrip())
    for candidate in candidates:
        try:
            return literal_or_word(candidate)
        except ValueError:
            pass
    # The longest leading literal, cut where a word, comment or bracket starts, but never before an
    # operator: `3 - 0 - 1` is a sum, not the value 3.
    for cut in reversed([m.start() for m in re.finditer(r"\s+|#|\(", text)]):
        head, rest = text[:cut].rstrip().rstrip(".,;:").rstrip(), text[cut:].lstrip()
        if not head or rest[:1] in ("+", "-", "*", "/", "%"):
            continue
        try:
            return literal_or_word(head)
        except ValueError:
            continue
    raise ValueError(text)


def case_from(func, params, source, want):
    """One case from a call's source and its expected value's source, or None."""
    try:
        call = ast.parse(source.strip(), mode="eval").body
        try:
            expected = value_of(want)
        except ValueError:
            # A doctest's expected output runs on until a blank line, so prose that follows
            # without one is part of it: the first line alone is the value.
            expected = value_of(want.strip().splitlines()[0])
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


# What joins an example's call to its value: `f(x) => y`, `==>`, `➞`, `->`, `==`, `= y`,
# `returns y`, `should return y`, `# => y`, `# returns y`.
SEPARATOR = re.compile(
    r"^\s*(?:#\s*)?(==>|=>|➞|->|==|=|should return|returns|should be|gives|is)(?![=>])\s*(.+?)\s*$"
)


def call_at(line, name):
    """The first call of `name` in the line as (source, rest of the line), or None."""
    for start in [m.start() for m in re.finditer(rf"\b{re.escape(name)}\(", line)]:
        for end in [i for i, ch in enumerate(line) if ch == ")" and i > start]:
            try:
                ast.parse(line[start:end + 1], mode="eval")
            except SyntaxError:
                continue
            return line[start:end + 1], line[end + 1:]
    return None


def assignments_call(name, text):
    """`a = 1, b = [2, 3]` as the source of a keyword call, or None; prose after the last
    assignment ("N = 150, the sum of its digits is 6") is cut off."""
    text = text.strip().rstrip(".")
    if not re.match(r"^[A-Za-z_]\w*\s*=[^=]", text):
        return None
    cuts = [len(text)] + [m.start() for m in re.finditer(",", text)][::-1]
    for cut in cuts:
        source = f"{name}({text[:cut]})"
        try:
            ast.parse(source, mode="eval")
        except SyntaxError:
            continue
        return source
    return None


def prose_cases(func, params, docstring):
    """Examples written as prose: `f(x) => y` and its kin, `For x = 1 the output should be y`, and
    an `Input: ...` line followed by an `Output: ...` line."""
    found = []
    definitions = False
    lines = docstring.splitlines()
    for i, line in enumerate(lines):
        text = line.strip()
        match = re.match(r"^(?:for|For)\s+(.+?)\s+the output should be\s+(.+)$", text)
        if match:
            source = assignments_call(func.name, match.group(1))
            if source:
                found.append(("for", case_from(func, params, source, match.group(2))))
            continue
        match = re.match(r"^Input\s*:\s*(.+)$", text)
        if match:
            following = [ln.strip() for ln in lines[i + 1:i + 4]]
            output = next((ln for ln in following if re.match(r"^Output\s*:", ln)), None)
            if output is not None:
                value = output.split(":", 1)[1]
                source = assignments_call(func.name, match.group(1))
                if source is None and len(params) == 1:
                    source = f"{func.name}({match.group(1).strip()})"
                if source:
                    found.append(("input", case_from(func, params, source, value)))
            continue
        call = call_at(text, func.name)
        if call is None:
            continue
        separator = SEPARATOR.match(call[1])
        if separator is None:
            continue
        kind, value = separator.groups()
        # `f(n) = f(n - 1) + f(n - 2)` defines the function; its `=` lines are equations, not examples.
        if kind == "=" and f"{func.name}(" in value:
            definitions = True
        found.append((kind, case_from(func, params, call[0], value)))
    cases = []
    for kind, case in found:
        if case and not (definitions and kind == "="):
            cases.append(case)
    return cases


def doctest_cases(func, params, docstring):
    try:
        examples = [(e.source, e.want) for e in doctest.DocTestParser().get_examples(docstring)]
    except ValueError:
        # One malformed example (a string holding a newline) makes the parser give up on all of
        # them: read the `>>>` lines one by one instead.
        examples = []
        lines = docstring.splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(">>>"):
                want = []
                for following in lines[i + 1:]:
                    if not following.strip() or following.strip().startswith(">>>"):
                        break
                    want.append(following.strip())
                examples.append((line.strip()[3:], "\n".join(want)))
    # `>>> f(x) == y` has no output to compare: its `== y` is the expected value.
    return [case_from(func, params, source, want) for source, want in examples if want.strip()]


def kind_of(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def cases_from(func, params, docstring):
    found = doctest_cases(func, params, docstring) + prose_cases(func, params, docstring)
    cases = []
    for case in found:
        if case and not any(c["input"] == case["input"] for c in cases):
            cases.append(case)
    # Examples that disagree on the result's type: the odd one is a slip of the author's
    # (`("Venus")` among tuples) and would teach the generator a wrong type.
    kinds = [kind_of(c["expected"]) for c in cases if c["expected"] is not None]
    if kinds:
        common = max(set(kinds), key=kinds.count)
        if kinds.count(common) * 2 > len(kinds):
            cases = [c for c in cases if c["expected"] is None or kind_of(c["expected"]) == common]
    return [{"name": f"docstring_{i + 1}", **case} for i, case in enumerate(cases)]


def main():
    task = sys.stdin.read()
    source = code_of(task)
    try:
        tree = ast.parse(source)
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
        "source": source.rstrip(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
