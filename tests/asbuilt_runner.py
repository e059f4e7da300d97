"""A stand-in for Lambda's Python runtime, run by tests/asbuilt.py as `python3.12 -I -S` on
one function of `.aws-sam/build`: only the function's folder and the layer are importable.

    asbuilt_runner.py FUNCTION_DIR LAYER_DIR HANDLER RESPONSE_FD

Reads one JSON request per line on stdin ({"event": ..., "name": ..., "memory": ...}) and
writes one JSON reply per line to RESPONSE_FD; the function's own output (logs, EMF) goes to
stdout as in Lambda. Standard library only: nothing else is on the path until the layer is.
"""

import importlib
import json
import os
import sys
import time
import uuid

began = time.perf_counter()
function_dir, layer_dir, handler_name, response_fd = sys.argv[1:5]
# Lambda's order: the function's code (/var/task), then the layer (/opt/python).
sys.path[:0] = [function_dir, layer_dir]
replies = os.fdopen(int(response_fd), "w")
# Lambda's runtime writes the function's output through unbuffered: logs and EMF lines appear
# as they are printed.
sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]


def reply(message: object) -> None:
    replies.write(json.dumps(message, default=str) + "\n")
    replies.flush()


class Context:
    def __init__(self, name: str, memory: int, timeout: float) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "asbuilt"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


module_name, _, attribute = handler_name.rpartition(".")
handler = getattr(importlib.import_module(module_name), attribute)
imported_ms = (time.perf_counter() - began) * 1e3
reply({"ready": True, "import_ms": imported_ms})

for line in sys.stdin:
    request = json.loads(line)
    context = Context(request["name"], request["memory"], request["timeout"])
    started = time.perf_counter()
    try:
        result = {"result": handler(request["event"], context)}
    except Exception as exc:  # the invocation's error, as Lambda reports it
        result = {"errorType": type(exc).__name__}
    took = (time.perf_counter() - started) * 1e3
    modules = {
        name: getattr(module, "__file__", None) or ""
        for name, module in list(sys.modules.items())
        if "." not in name
    }
    # CPU time since the interpreter started: what a cold start costs, whatever else runs.
    cpu_ms = time.process_time() * 1e3
    reply({**result, "ms": took, "cpu_ms": cpu_ms, "modules": modules})
