"""The metrics port's HTTP server: Prometheus' `/metrics`, and read-only pages beside it.

`katib-enas serve` adds the live report's pages (`/`, `/report`, `/trials.csv`,
`/trials.json`); this module only routes to them and knows nothing of what they show (the
service layer never imports the analysis above it). Every other path answers `/metrics`, as
prometheus_client's own server does, so existing scrape configurations keep working. Pages
answer GET and HEAD only, are never cached by browsers (they change as trials arrive) and say
`nosniff`: the server is read-only and holds no secrets.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """One response: its content type, its bytes and its HTTP status line."""

    content_type: str
    body: bytes
    status: str = "200 OK"


# A page from its query parameters (the last value of each).
PageSource = Callable[[Mapping[str, str]], Page]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request: a browser's refreshes would flood the pod's log."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def application(
    registry: CollectorRegistry, pages: Mapping[str, PageSource]
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application: `pages` by path, `/metrics` for every other path."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        source = pages.get(environ.get("PATH_INFO") or "/")
        if source is None:
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            page = Page("text/plain; charset=utf-8", b"read-only: GET or HEAD\n", "405 Not Allowed")
        else:
            query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            try:
                page = source(query)
            except Exception:  # a page that fails must not take the metrics port down
                log.exception("page %s failed", environ.get("PATH_INFO"))
                page = Page(
                    "text/plain; charset=utf-8",
                    b"this page failed: see the log\n",
                    "500 Internal Server Error",
                )
        start_response(
            page.status,
            [
                ("Content-Type", page.content_type),
                ("Content-Length", str(len(page.body))),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [] if method == "HEAD" else [page.body]

    return app


def start(
    host: str, port: int, registry: CollectorRegistry, pages: Mapping[str, PageSource]
) -> WSGIServer:
    """Serve on `host:port` from a daemon thread (OSError when it cannot listen)."""

    class Server(ThreadingWSGIServer):
        """Its own class: the address family is set per server (IPv4 or IPv6 host)."""

    found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    Server.address_family = found[0][0]
    server = make_server(
        host, port, application(registry, pages), Server, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
