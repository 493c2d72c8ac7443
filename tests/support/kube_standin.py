"""A stand-in for the Kubernetes API server, for a pod that reads and updates ConfigMaps and for
`katib-enas results`, which reads Katib's Experiments and Trials.

There is no cluster here, so the registration hook Job talks to this: HTTPS on 127.0.0.1 with a
self-signed CA (handed to the pod as `ca.crt`, as the service-account volume does), a bearer
token, and the ConfigMap endpoints with the API's semantics for what the hook uses: GET, and
PUT with optimistic concurrency (a stale `resourceVersion` gets 409 Conflict). Requests that the
Role does not allow (`allowed`: verb and ConfigMap name) get 403, as RBAC would answer them.
Katib's custom resources (`/apis/kubeflow.org/v1beta1/namespaces/<ns>/<plural>[/<name>]`) answer
GET and LIST (with an equality `labelSelector`), allowed per (verb, plural).
"""

from __future__ import annotations

import copy
import json
import re
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/configmaps/(?P<name>[^/?]+)$")
_CUSTOM = re.compile(
    r"^/apis/kubeflow\.org/v1beta1/namespaces/(?P<ns>[^/]+)/(?P<plural>[a-z]+)(?:/(?P<name>[^/]+))?$"
)
VERBS = {"GET": "get", "PUT": "update"}


@dataclass
class ApiState:
    """The ConfigMaps the stand-in holds, by (namespace, name), and what it was asked."""

    token: str
    allowed: set[tuple[str, str]]  # (verb, configmap name)
    configmaps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    # Katib's objects by (namespace, plural): `experiments`, `trials`.
    custom: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, configmap: dict[str, Any]) -> None:
        meta = configmap.setdefault("metadata", {})
        key = (meta["namespace"], meta["name"])
        meta["resourceVersion"] = str(int(meta.get("resourceVersion", "0") or 0) + 1)
        self.configmaps[key] = copy.deepcopy(configmap)

    def get(self, namespace: str, name: str) -> dict[str, Any]:
        return copy.deepcopy(self.configmaps[(namespace, name)])


def _handler(state: ApiState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            with state.lock:
                state.requests.append((self.command, self.path, code))
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, reason: str, message: str) -> None:
            self._reply(
                code,
                {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                 "message": message, "code": code},
            )  # fmt: skip

        def _handle(self) -> None:
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or token != state.token:  # schemes ignore case
                self._status(401, "Unauthorized", "Unauthorized")
                return
            custom = _CUSTOM.match(self.path.split("?")[0])
            if custom is not None and self.command == "GET":
                self._custom(custom)
                return
            match = _PATH.match(self.path.split("?")[0])
            verb = VERBS.get(self.command)
            if match is None or verb is None or (verb, match["name"]) not in state.allowed:
                self._status(403, "Forbidden", f"{self.command} {self.path} is forbidden")
                return
            key = (match["ns"], match["name"])
            with state.lock:
                current = state.configmaps.get(key)
                if current is None:
                    code, body = 404, None
                elif verb == "get":
                    code, body = 200, copy.deepcopy(current)
                else:
                    length = int(self.headers.get("Content-Length", "0"))
                    sent = json.loads(self.rfile.read(length))
                    version = sent.get("metadata", {}).get("resourceVersion")
                    if version != current["metadata"]["resourceVersion"]:
                        code, body = 409, None
                    else:
                        state.put(sent)
                        code, body = 200, state.get(*key)
            if code == 404:
                self._status(404, "NotFound", f"configmaps {key[1]!r} not found")
            elif code == 409:
                self._status(409, "Conflict", "the object has been modified")
            else:
                assert body is not None
                self._reply(code, body)

        def _custom(self, match: re.Match[str]) -> None:
            verb = "get" if match["name"] else "list"
            if (verb, match["plural"]) not in state.allowed:
                self._status(403, "Forbidden", f"{verb} {match['plural']} is forbidden")
                return
            with state.lock:
                objects = copy.deepcopy(state.custom.get((match["ns"], match["plural"]), []))
            if match["name"]:
                found = [o for o in objects if o["metadata"]["name"] == match["name"]]
                if not found:
                    self._status(404, "NotFound", f"{match['plural']} {match['name']!r} not found")
                    return
                self._reply(200, found[0])
                return
            query = parse_qs(urlsplit(self.path).query)
            for selector in query.get("labelSelector", []):
                key, _, value = selector.partition("=")
                objects = [o for o in objects if o["metadata"].get("labels", {}).get(key) == value]
            kind = "ExperimentList" if match["plural"] == "experiments" else "TrialList"
            self._reply(
                200,
                {"apiVersion": "kubeflow.org/v1beta1", "kind": kind, "items": objects,
                 "metadata": {"resourceVersion": "1"}},
            )  # fmt: skip

        do_GET = _handle  # noqa: N815 (http.server's method names)
        do_PUT = _handle  # noqa: N815
        do_POST = _handle  # noqa: N815
        do_PATCH = _handle  # noqa: N815
        do_DELETE = _handle  # noqa: N815

    return Handler


@dataclass(frozen=True)
class StandIn:
    state: ApiState
    port: int
    service_account_dir: Path  # token, ca.crt, namespace: what a pod gets mounted


@contextmanager
def kube_api(folder: Path, state: ApiState, namespace: str) -> Iterator[StandIn]:
    """Serve `state` over HTTPS on 127.0.0.1; yields the port and a service-account folder."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=kubernetes", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    account = folder / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(state.token)
    (account / "ca.crt").write_bytes(cert.read_bytes())
    (account / "namespace").write_text(namespace)
    for path in account.iterdir():
        path.chmod(0o644)
    account.chmod(0o755)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield StandIn(state, int(server.server_address[1]), account)
    finally:
        server.shutdown()
        server.server_close()


def kubeconfig(standin: StandIn, path: Path, namespace: str = "default") -> Path:
    """A kubeconfig for the stand-in (its CA, the bearer token), as `kubectl` would use it."""
    import base64

    import yaml

    ca = (standin.service_account_dir / "ca.crt").read_bytes()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "standin",
                "cluster": {
                    "server": f"https://127.0.0.1:{standin.port}",
                    "certificate-authority-data": base64.b64encode(ca).decode(),
                },
            }
        ],
        "users": [{"name": "tester", "user": {"token": standin.state.token}}],
        "contexts": [
            {
                "name": "standin",
                "context": {"cluster": "standin", "user": "tester", "namespace": namespace},
            }
        ],
        "current-context": "standin",
    }
    path.write_text(yaml.safe_dump(config))
    return path
