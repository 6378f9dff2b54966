"""A toy HTTP server on 127.0.0.1 (or ``host``) that can stall: GET /ping, POST /refuse (409). ``delay(hit)``, if
given, is how long (seconds) the ``hit``-th request (1-based) waits before its answer: a known latency
distribution (e.g. every 20th request slow)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ToyServer:
    """Answers at once, except between ``stall_at`` and ``stall_at + stall_s`` (seconds after the
    first request) when every request waits until the stall ends."""

    def __init__(self, stall_after_first_s: float | None = None, stall_s: float = 0.0, delay=None,
                 delay_s: float = 0.0, host: str = "127.0.0.1") -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.stall_after = stall_after_first_s
        self.stall_s = stall_s
        self.delay_s = delay_s  # every answer takes at least this long (a known service time)
        self.first: float | None = None
        self.hits = 0
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 65536  # one send per response: no Nagle / delayed-ACK 40 ms pauses

            def log_message(self, *a):  # quiet
                pass

            def _answer(self, code: int, body: bytes) -> None:
                outer._maybe_stall()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                outer.paths.append(self.path)
                self._answer(200, b'{"ok":true}')

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                self._answer(409, b'{"detail":"out of stock"}')

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # clients closing keep-alive sockets
                pass

        self.httpd = Server((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _maybe_stall(self) -> None:
        now = time.time()
        with self.lock:
            if self.first is None:
                self.first = now
            self.hits += 1
            hit = self.hits
        if self.delay is not None:
            time.sleep(self.delay(hit))
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.stall_after is None:
            return
        start = self.first + self.stall_after
        if start <= now < start + self.stall_s:
            time.sleep(start + self.stall_s - now)

    def __enter__(self) -> "ToyServer":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
