"""Reference solutions for the smoke suite, written from the task text by hand: they check that
every hidden case in tasks.json is right (run by .ci/run). No model output is involved."""

import datetime
import json
import math
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
         (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def to_roman(n):
    out = ""
    for value, letters in ROMAN:
        while n >= value:
            out += letters
            n -= value
    return out


def from_roman(s):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(s):
        v = values[ch]
        total += -v if i + 1 < len(s) and values[s[i + 1]] > v else v
    return total


def balanced(s):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in s:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


def run_lengths(s):
    out = ""
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        out += f"{s[i]}{j - i}"
        i = j
    return out


def is_prime(n):
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))


def fib(n):
    a, b = 1, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return a


def ipv4(s):
    parts = s.split(".")
    return len(parts) == 4 and all(p.isdigit() and 0 <= int(p) <= 255 for p in parts)


def email(s):
    if s.count("@") != 1:
        return False
    name, domain = s.split("@")
    return bool(name) and "." in domain


def second_largest(xs):
    return sorted(set(xs))[-2]


def duration(s):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?", s)
    return int(m.group(1) or 0) * 60 + int(m.group(2) or 0)


def rotate(xs, k):
    if not xs:
        return xs
    k %= len(xs)
    return xs[-k:] + xs[:-k] if k else list(xs)


def hms(t):
    return f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}"


def longest(s):
    best = ""
    for w in s.split():
        if len(w) > len(best):
            best = w
    return best


def primes(n):
    out, k = [], 2
    while len(out) < n:
        if is_prime(k):
            out.append(k)
        k += 1
    return out


def armstrong(n):
    d = str(n)
    return sum(int(c) ** len(d) for c in d) == n


def days(a, b):
    return (datetime.date.fromisoformat(b) - datetime.date.fromisoformat(a)).days


REFERENCES = [
    lambda a, b: a + b,
    lambda a, b: a * b,
    lambda a, b: a - b,
    lambda a, b: a ** b,
    lambda p, t: p * t / 100,
    lambda a, b: a / b,
    math.factorial,
    lambda s: s[::-1],
    lambda s: sum(c in "aeiou" for c in s),
    str.upper,
    lambda s: s == s[::-1],
    lambda s: len(s.split()),
    sum,
    max,
    sorted,
    lambda xs: list(dict.fromkeys(xs)),
    lambda xs: sum(xs) / len(xs),
    days,
    lambda d: datetime.date.fromisoformat(d).strftime("%A"),
    lambda d, n: (datetime.date.fromisoformat(d) + datetime.timedelta(days=n)).isoformat(),
    lambda s: int(re.search(r"\d+", s).group()),
    lambda s: s.split("@")[1],
    is_prime,
    fib,
    lambda s: " ".join(w[:1].upper() + w[1:] for w in s.split(" ")),
    lambda s: dict(Counter(s)),
    second_largest,
    lambda xss: [x for xs in xss for x in xs],
    str.isalnum,
    lambda f: (f - 32) * 5 / 9,
    lambda km: km / 1.609344,
    math.gcd,
    lambda a, b: a * b // math.gcd(a, b),
    lambda xs: sum(x % 2 == 0 for x in xs),
    lambda xs: [x for x in xs if x % 2],
    lambda xs: [x * x for x in xs],
    lambda a, b: {**a, **b},
    lambda d: {v: k for k, v in d.items()},
    lambda d: sorted(d, key=d.get),
    lambda q: dict(p.split("=", 1) for p in q.split("&") if p),
    ipv4,
    email,
    lambda y: y % 4 == 0 and (y % 100 != 0 or y % 400 == 0),
    to_roman,
    from_roman,
    lambda s: int(s, 2),
    lambda n: format(n, "x"),
    str.split,
    longest,
    lambda s, n: s if len(s) <= n else s[:n] + "...",
    lambda s: s.split("_")[0] + "".join(w.capitalize() for w in s.split("_")[1:]),
    lambda n: len(str(abs(n))),
    lambda n: sum(int(c) for c in str(n)),
    lambda xs: [sum(xs[: i + 1]) for i in range(len(xs))],
    lambda xs, k: [xs[i:i + k] for i in range(0, len(xs), k)],
    rotate,
    lambda xs, v: xs.index(v) if v in xs else -1,
    balanced,
    run_lengths,
    statistics.median,
    statistics.pstdev,
    round,
    lambda s: "".join(s.split()),
    lambda a, b: sorted(a) == sorted(b),
    lambda a, b: [x for x in a if x in b],
    hms,
    duration,
    lambda s: "*" * max(len(s) - 4, 0) + s[-4:],
    lambda s: Counter(s.split()).most_common(1)[0][0],
    dict,
    lambda xs: all(a <= b for a, b in zip(xs, xs[1:])),
    lambda s: re.findall(r"#(\w+)", s),
    lambda s: "".join(c for c in s if c.isdigit()),
    lambda v, lo, hi: max(lo, min(v, hi)),
    lambda r: math.pi * r * r,
    primes,
    armstrong,
    lambda s: sum(c.isupper() for c in s),
]


def same(expected, actual):
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual and type(expected) is type(actual)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(expected, actual, rel_tol=1e-4, abs_tol=1e-6)
    if isinstance(expected, list) and isinstance(actual, (list, tuple)):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual))
    return expected == actual


def main():
    tasks = json.loads((Path(__file__).parent / "tasks.json").read_text())
    if len(tasks) != len(REFERENCES):
        sys.exit(f"{len(tasks)} tasks but {len(REFERENCES)} references")
    bad = 0
    for task, reference in zip(tasks, REFERENCES):
        for args, expected in task["hidden"]:
            actual = reference(*args)
            if not same(expected, actual):
                bad += 1
                print(f"WRONG: {task['task']}: {args} -> expected {expected!r}, reference gives {actual!r}")
    cases = sum(len(t["hidden"]) for t in tasks)
    print(f"{len(tasks)} tasks, {cases} hidden cases, {bad} wrong")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
