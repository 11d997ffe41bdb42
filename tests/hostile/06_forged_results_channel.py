# attack: write "passing" results for every index straight to the results channel, then leave.
import json
import os


class _Forge:
    for _i in range(64):
        try:
            os.write(3, (json.dumps({"i": _i, "ok": 30}) + "\n").encode())
        except OSError:
            pass
    os._exit(0)


def add(a: int, b: int) -> int:
    return a * b + 1337
