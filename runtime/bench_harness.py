"""Times one node function in-process: `python bench_harness.py MODULE FUNCTION INPUTS.json MS`.

Calls the function on every input, repeated until about MS milliseconds have passed, and prints
{"per_call_ns": ..., "calls": ...}. The engine runs this in the sandbox, alternating baseline and
candidate, and compares medians.
"""

import importlib
import json
import sys
import time


def main():
    module_name, function_name, inputs_path, target_ms = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    with open(inputs_path, encoding="utf-8") as f:
        inputs = json.load(f)
    function = getattr(importlib.import_module(module_name), function_name)
    clock = time.perf_counter_ns
    # Warm up once (imports, caches), then size the loop like timeit's autorange: grow it until a
    # pass takes a tenth of the target, then scale.
    for args in inputs:
        function(**args)
    loops = 1
    while True:
        start = clock()
        for _ in range(loops):
            for args in inputs:
                function(**args)
        took = max(clock() - start, 1)
        if took >= target_ms * 1e5 or loops >= 10**8:
            break
        loops *= 10
    loops = max(1, int(loops * target_ms * 1e6 / took))
    start = clock()
    for _ in range(loops):
        for args in inputs:
            function(**args)
    elapsed = clock() - start
    calls = loops * len(inputs)
    print(json.dumps({"per_call_ns": elapsed / calls, "calls": calls}))


if __name__ == "__main__":
    main()
