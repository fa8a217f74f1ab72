"""A real rest-hook subscriber for the end-to-end test: a separate process on 127.0.0.1 that answers
every POST with 200 and appends what it got (headers it was asked to check, and the body) to a file.

    python -m tests.e2e.subscriber PORT OUTPUT_FILE [DELAY_SECONDS]

With a delay it records a request, then waits that long before answering (a slow subscriber, so a test
can stop a service while a delivery is on the wire).
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def handler_for(output: Path, delay: float = 0.0) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            record = {
                "path": self.path,
                "content_type": self.headers.get("content-type"),
                "x_test": self.headers.get("x-test"),
                "body": json.loads(body),
            }
            with output.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            time.sleep(delay)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            """Quiet: the test reads the file, not the console."""

    return Handler


def main() -> None:
    port, output = int(sys.argv[1]), Path(sys.argv[2])
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(output, delay))
    server.serve_forever()


if __name__ == "__main__":
    main()
