"""A real HTTP receiver on 127.0.0.1 for webhook tests, with switchable faults.

Modes: "ok" (200), "500", "slow" (answers after `slow_seconds`, beyond the sender's timeout),
"reset" (drops the connection with a TCP RST), "redirect" (302 to /redirected, which must never
be requested). Every request is recorded; `acked` lists the event ids answered with 2xx.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    body: bytes
    signature: str
    event_id: str | None
    answered: int | None


@dataclass
class ReceiverState:
    mode: str = "ok"
    slow_seconds: float = 3.0
    requests: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        try:
            event_id = json.loads(body).get("id")
        except ValueError:
            event_id = None
        record = Received(self.path, body, self.headers.get("stripe-signature", ""), event_id, None)
        with state.lock:
            state.requests.append(record)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self._answer(state, record)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer(self, state: ReceiverState, record: Received) -> None:
        mode = state.mode
        if mode == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if mode == "slow":
            time.sleep(state.slow_seconds)
        status = {"ok": 200, "500": 500, "redirect": 302, "slow": 200}.get(mode, 200)
        if self.path == "/redirected":
            status = 200
        payload = b'{"received": true}' if status < 300 else b'{"error": "nope"}'
        self.send_response(status)
        if status == 302:
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/redirected")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except OSError:
            return
        record.answered = status


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    state: ReceiverState


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.state = ReceiverState()
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.state = self.state
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def requests(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.requests)

    def acked(self) -> Counter[str]:
        return Counter(
            r.event_id
            for r in self.requests
            if r.event_id and r.answered is not None and 200 <= r.answered < 300
        )

    def received(self) -> Counter[str]:
        return Counter(r.event_id for r in self.requests if r.event_id)
