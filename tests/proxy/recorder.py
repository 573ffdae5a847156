"""A stand-in cluster API that records what reaches it (for header assertions).

A plain HTTP/1.1 server in a thread: every request's method, path, headers
and body are kept; the answer carries headers the proxy must pass
(``X-Cluster-Header``), drop (``Set-Cookie``, hop-by-hop ``Keep-Alive``) or
replace (``Content-Security-Policy``). ``/refuse-upgrade`` answers a
WebSocket upgrade with 403 and a body, as an API server refusing it would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name]


@dataclass
class Recorder:
    url: str
    requests: list[Recorded] = field(default_factory=list)


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._body()
            recorder.requests.append(
                Recorded(self.command, self.path, list(self.headers.items()), body)
            )
            if self.path.startswith("/refuse-upgrade"):
                answer = b'{"kind":"Status","message":"upgrade refused by the cluster","code":403}'
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
            else:
                answer = b"<html>recorded</html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Set-Cookie", "cluster-session=stolen; Path=/")
                self.send_header("Keep-Alive", "timeout=5")
                self.send_header("X-Cluster-Header", "passes")
                self.send_header("Content-Security-Policy", "default-src *")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    return Handler


@contextmanager
def recording_cluster() -> Iterator[Recorder]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Recorder("")))
    recorder = Recorder(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class EchoSocket:
    """A WebSocket stand-in for exec: echoes every message; records the upgrade's headers."""

    url: str
    upgrades: list[list[tuple[str, str]]] = field(default_factory=list)


@contextmanager
def websocket_echo_cluster() -> Iterator[EchoSocket]:
    from websockets.sync.server import ServerConnection, serve
    from websockets.typing import Subprotocol

    echo = EchoSocket("")

    def handler(conn: ServerConnection) -> None:
        assert conn.request is not None
        echo.upgrades.append(list(conn.request.headers.raw_items()))
        for message in conn:
            conn.send(message)

    with serve(
        handler,
        "127.0.0.1",
        0,
        subprotocols=[Subprotocol("v5.channel.k8s.io")],
        compression=None,
    ) as server:
        echo.url = f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield echo
        finally:
            server.shutdown()
