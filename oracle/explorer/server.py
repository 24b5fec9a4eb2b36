"""The explorer's HTTP server: the page from ``static/`` and the JSON API beside it.

Standard library only (``ThreadingHTTPServer``): a handful of GET routes need
no framework, and the page's script and styles are served from this package,
so it works offline. Each API request first brings the index up to the chain's
head, so the page follows new blocks without a restart.

| route | document |
| --- | --- |
| ``/api/status`` | chain id, address, indexed head, counts; ``chain``: "ok" or "not responding" |
| ``/api/rounds`` | every round: stage, budget, paid, refund |
| ``/api/rounds/<id>`` | one round: commits, reveals, committee, scores, payouts, slashes, with tx and block |
| ``/api/nodes/<address>`` | one node: stake and balance (view calls), history, slashes, withdrawals |
| ``/api/leaderboard`` | mean reward per node and per model |
| ``/api/tx/<hash>`` | one transaction: decoded PoQ call and events |
| ``/api/abi`` | the ABI and the metadata ``--export-abi`` writes |
"""

from __future__ import annotations

import json
import mimetypes
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from oracle.chain.client import ChainError
from oracle.explorer import abi, views
from oracle.explorer.index import ChainIndex

STATIC = Path(__file__).resolve().parent / "static"
# Seconds ``/api/status`` waits for another request's read of a stalled chain before answering without it.
STATUS_WAIT = 2.0
ROUTES = [
    (re.compile(r"^/api/rounds$"), lambda ix, m: views.rounds_list(ix)),
    (re.compile(r"^/api/rounds/(\d+)$"), lambda ix, m: views.round_detail(ix, int(m.group(1)))),
    (re.compile(r"^/api/nodes/([^/]+)$"), lambda ix, m: views.node_detail(ix, m.group(1))),
    (re.compile(r"^/api/leaderboard$"), lambda ix, m: views.leaderboard(ix)),
    (re.compile(r"^/api/tx/([^/]+)$"), lambda ix, m: views.transaction(ix, m.group(1))),
]


class ExplorerServer(ThreadingHTTPServer):
    """An HTTP server bound to one index; ``deploy_block`` goes into the ABI metadata."""

    daemon_threads = True

    def __init__(self, index: ChainIndex, host: str = "127.0.0.1", port: int = 0,
                 deploy_block: int | None = None, quiet: bool = True) -> None:
        self.index = index
        self.deploy_block = deploy_block
        self.quiet = quiet
        super().__init__((host, port), ExplorerHandler)

    @property
    def url(self) -> str:
        # the stub's address may be bytes (what bind accepts); once bound, getsockname() gives a str host
        host, port = cast("tuple[str, int]", self.server_address[:2])
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address) -> None:
        # A browser that navigates away closes its connection mid-response: not an error worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def start_background(self) -> threading.Thread:
        """Serve from a daemon thread (tests, notebooks); stop with ``shutdown()`` then ``server_close()``."""
        thread = threading.Thread(target=self.serve_forever, name="poq-explorer", daemon=True)
        thread.start()
        return thread


class ExplorerHandler(BaseHTTPRequestHandler):
    server: ExplorerServer
    server_version = "poq-explorer"

    def do_GET(self) -> None:  # noqa: N802 - the http.server hook's name
        path = urlsplit(self.path).path
        if path.startswith("/api/"):
            self._api(path)
        elif path in ("/", "/index.html"):
            self._file(STATIC / "index.html")
        elif path.startswith("/static/"):
            self._file(STATIC / path.removeprefix("/static/"))
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no page at {path}: open / for the explorer"})

    def _api(self, path: str) -> None:
        index = self.server.index
        if path == "/api/status":  # answers while the chain does not, from the last snapshot
            self._json(HTTPStatus.OK, views.status(index, index.refresh_within(STATUS_WAIT)))
            return
        try:
            index.refresh()
            with index.lock:
                if path == "/api/abi":
                    body: dict | None = {"abi": index.client.abi,
                                         "metadata": abi.metadata(index.client, self.server.deploy_block)}
                else:
                    body = self._route(index, path)
        except views.NotFound as exc:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except views.BadRequest as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
        except (ChainError, OSError) as exc:
            self._json(HTTPStatus.BAD_GATEWAY, {"error": f"the chain did not answer: {exc}"})
        else:
            if body is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no API route {path}: see docs/EXPLORER.md"})
            else:
                self._json(HTTPStatus.OK, body)

    @staticmethod
    def _route(index: ChainIndex, path: str) -> dict | None:
        for pattern, view in ROUTES:
            match = pattern.match(path)
            if match:
                return view(index, match)
        return None

    def _file(self, path: Path) -> None:
        path = path.resolve()
        if path.parent != STATIC or not path.is_file():
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no asset {path.name}"})
            return
        data = path.read_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: HTTPStatus, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the http.server hook's signature
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")
