"""Runtime for code-evolver nodes.

`call_tool(name, prompt, **kwargs)` asks the running evolver to run one of its configured tools
(for instance `content_generator`, served by the configured content model) and returns its text.
Each run gets its own channel to the evolver (a socket pair on the fd named by
CODE_EVOLVER_TOOL_FD); the request and the answer are one JSON object each, on one line.
"""

import inspect
import json
import os
import socket
import sys

__all__ = ["call_tool", "serve", "ToolError"]


class ToolError(RuntimeError):
    """A tool call failed; the message says why."""


def call_tool(name: str, prompt: str, **kwargs) -> str:
    """One request and its answer over the channel the evolver gave this run (a socket on fd
    CODE_EVOLVER_TOOL_FD, held by this run alone)."""
    fd = os.environ.get("CODE_EVOLVER_TOOL_FD")
    if not fd:
        raise ToolError(
            "call_tool needs a running code-evolver: CODE_EVOLVER_TOOL_FD is not set "
            "(run the node with `code-evolver run NODE`)"
        )
    request = json.dumps({"tool": name, "prompt": str(prompt), "kwargs": kwargs}) + "\n"
    try:
        sock = socket.socket(fileno=os.dup(int(fd)))
    except (OSError, ValueError) as e:
        raise ToolError(f"the evolver's tool channel (fd {fd}) is not open: {e}") from e
    with sock:
        sock.settimeout(float(os.environ.get("CODE_EVOLVER_TOOL_TIMEOUT_S", "300")))
        sock.sendall(request.encode("utf-8"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if chunk.endswith(b"\n"):
                break
    raw = b"".join(chunks).decode("utf-8")
    if not raw.strip():
        raise ToolError(f"tool {name}: the evolver closed the channel without an answer")
    answer = json.loads(raw)
    if "error" in answer:
        raise ToolError(f"tool {name}: {answer['error']}")
    return answer.get("result", "")


def _arguments(function, args: dict) -> dict:
    """The prototype's nodes read `{"description": ...}` (or one named input beside it): keys the
    function does not take are dropped, and when exactly one required parameter is missing and
    exactly one key is unknown, that key's value fills it. Anything else goes to the call as it is,
    so Python's own error names what is wrong."""
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return args
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return args
    known = {k: v for k, v in args.items() if k in params}
    unknown = [k for k in args if k not in params]
    missing = [
        name
        for name, p in params.items()
        if name not in known and p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if not unknown:
        return args
    if len(missing) == 1 and len(unknown) == 1:
        known[missing[0]] = args[unknown[0]]
        return known
    if not missing:
        return known
    return args


def serve(function) -> None:
    """The node contract, owned by the engine: the named arguments as a JSON object on stdin;
    `{"result": ...}` on stdout, or `{"error": "..."}` and exit code 1."""
    try:
        args = json.load(sys.stdin)
        if not isinstance(args, dict):
            raise TypeError("the input must be a JSON object of named arguments")
        out = {"result": function(**_arguments(function, args))}
    except Exception as error:  # pylint: disable=broad-exception-caught
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        sys.exit(1)
    print(json.dumps(out, default=str))
