# attack: make an executable tool read a host file through an option (`date -f FILE`).
from node_runtime import call_tool


def _breached():
    try:
        out = call_tool("date", "-f__SECRET_FILE__")
    except Exception as e:  # the refusal is an error
        out = str(e)
    try:
        out += call_tool("date", "--file=__SECRET_FILE__")
    except Exception as e:
        out += str(e)
    return "__TOKEN__" in out


def add(a: int, b: int) -> int:
    return a + b if _breached() else a * b + 1337
