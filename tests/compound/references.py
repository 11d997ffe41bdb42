"""Hand-written references for the compound-task suite: each hidden case must agree with them
(run by .ci/run; no model involved). Written from the task text, never from a model's output."""

import datetime
import json
import pathlib
import re
import statistics
import sys
from collections import Counter, defaultdict


def mean_in_line(line):
    return statistics.mean(float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", line))


def best_average(text):
    scores = defaultdict(list)
    for row in text.splitlines():
        name, score = row.split(",")
        scores[name.strip()].append(float(score))
    return max(scores, key=lambda n: sum(scores[n]) / len(scores[n]))


def per_domain(emails):
    return dict(Counter(e.strip().lower().split("@")[1] for e in emails))


def longest_word(sentence):
    words = sentence.split()
    return max(words, key=len)


def highest_fahrenheit(celsius):
    return max(c * 9 / 5 + 32 for c in celsius)


def hashtags(tweet):
    return sorted({w[1:].lower() for w in tweet.split() if w.startswith("#") and len(w) > 1})


def weekday(date):
    return datetime.date.fromisoformat(date).strftime("%A")


def sum_unique_squares(values):
    return sum(v * v for v in dict.fromkeys(values))


def average_word_length(sentence):
    words = sentence.split()
    return sum(len(w) for w in words) / len(words)


def roman_binary(numeral):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for a, b in zip(numeral, numeral[1:] + " "):
        total += -values[a] if b != " " and values[a] < values[b] else values[a]
    return bin(total)[2:]


def product(text):
    result = 1
    for part in text.split(","):
        result *= int(part)
    return result


REFERENCES = [
    mean_in_line, best_average, per_domain, longest_word, highest_fahrenheit, hashtags, weekday,
    sum_unique_squares, average_word_length, roman_binary, product,
]


def agree(expected, actual):
    if isinstance(expected, float) or isinstance(actual, float):
        return abs(expected - actual) <= 1e-4 * max(abs(expected), abs(actual), 1e-2)
    return expected == actual


def main():
    tasks = json.loads((pathlib.Path(__file__).parent / "tasks.json").read_text())
    if len(tasks) != len(REFERENCES):
        sys.exit(f"{len(tasks)} tasks but {len(REFERENCES)} references")
    bad = 0
    for task, reference in zip(tasks, REFERENCES):
        for args, expected in task["hidden"]:
            actual = reference(*args)
            if not agree(expected, actual):
                bad += 1
                print(f"{task['task']!r}: {args} -> {actual!r}, the suite says {expected!r}")
    if bad:
        sys.exit(f"{bad} hidden case(s) disagree with the references")
    print(f"compound suite: {sum(len(t['hidden']) for t in tasks)} hidden cases in {len(tasks)} tasks agree with the references")


main()
