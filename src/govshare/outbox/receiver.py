"""A webhook receiver that does what every receiver should: verify, then apply each id once.

Used by ``govshare outbox receiver`` for local demos (the demo's sample subscriptions point at
``http://127.0.0.1:8099/hooks/<agency>``) and by the delivery tests, which make it slow, take
it down, or make it refuse, and then count what it applied.

It is what a receiving agency writes, with the Standard Webhooks library (PyPI
``standardwebhooks``; the same exists for other languages). What it does with a POST:
1. Verifies it (``Webhook(secret).verify(body, headers)``): a missing, wrong or stale
   signature gets 401 and is not applied. Stale means a ``webhook-timestamp`` more than five
   minutes away: a captured request replayed later. Any of its secrets may match (an agency
   keeps the old one for a while when the secret is rotated).
2. Applies the body under its ``webhook-id``, once. A repeat of an id it has applied (our
   retry after a lost answer, or a replay within the five minutes) gets 200 ``already
   applied`` and is counted as a duplicate, never applied again. Answering 200 matters: the
   sender must stop retrying something that has been done.

Everything is kept in memory; ``record`` appends each applied message to a JSON-lines file.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

# The signing secret of the demo's sample subscriptions, published like the demo password:
# only for the sample agencies on 127.0.0.1. Standard Webhooks form: whsec_ + base64.
DEMO_WEBHOOK_SECRET = "whsec_Z292c2hhcmUtZGVtbzogc2FtcGxlIGFnZW5jaWVzISE="  # noqa: S105
MAX_BODY_BYTES = 1_000_000


@dataclass
class Receiver:
    """The receiving agency's side. ``mode``: ``up``, ``down`` (503) or ``refuse`` (400)."""

    secrets: list[str] = field(default_factory=lambda: [DEMO_WEBHOOK_SECRET])
    delay: float = 0.0
    record: Path | None = None
    echo: Callable[[str], None] | None = None
    mode: str = "up"
    applied: dict[str, Any] = field(default_factory=dict)
    received: int = 0
    duplicates: int = 0
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def verify(self, headers: Mapping[str, str], body: bytes) -> Any:
        """The JSON payload, if one of our secrets signed it; else the library's error."""
        error = WebhookVerificationError("no secret to verify with")
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, dict(headers))
            except WebhookVerificationError as exc:
                error = exc
        raise error

    def handle(self, path: str, headers: Mapping[str, str], body: bytes
               ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.received += 1
            mode = self.mode
        if mode == "down":
            return 503, {"error": "temporarily unavailable"}
        if mode == "refuse":
            return 400, {"error": "this receiver does not take these messages"}
        if self.delay:
            time.sleep(self.delay)
        try:
            payload = self.verify(headers, body)
        except WebhookVerificationError as exc:
            with self.lock:
                self.rejected.append(str(exc))
            return 401, {"error": f"signature refused: {exc}"}
        except ValueError:  # signed, but not JSON
            return 400, {"error": "the body is not JSON"}
        key = {k.lower(): v for k, v in headers.items()}["webhook-id"]  # verified: present
        with self.lock:
            if key in self.applied:
                self.duplicates += 1
                return 200, {"status": "already applied", "key": key}
            self.applied[key] = payload
            if self.record is not None:
                with self.record.open("a") as fh:
                    fh.write(json.dumps({"path": path, "key": key, "payload": payload}) + "\n")
        if self.echo is not None:
            kind = payload.get("type", "?") if isinstance(payload, dict) else "?"
            self.echo(f"applied {key} ({kind}) at {path}")
        return 200, {"status": "applied", "key": key}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"received": self.received, "applied": len(self.applied),
                    "duplicates": self.duplicates, "rejected": len(self.rejected),
                    "keys": sorted(self.applied)}


def make_server(receiver: Receiver, host: str = "127.0.0.1", port: int = 0
                ) -> ThreadingHTTPServer:
    """An HTTP server for ``receiver`` (port 0: any free port; see ``server_address``)."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "govshare-receiver"

        def _answer(self, status: int, data: dict[str, Any]) -> None:
            raw = json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender went away (a killed worker): it will try again

        def do_POST(self) -> None:
            raw = self.headers.get("Content-Length") or "0"
            if not (raw.isascii() and raw.isdigit()):
                self._answer(400, {"error": "Content-Length must be a number of bytes"})
                return
            length = int(raw)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"error": "body too large"})
                return
            body = self.rfile.read(length)
            if len(body) < length:
                # the sender went away in the middle of its body (a killed worker): a torn
                # request, not a wrong signature; it will send the whole message again
                self._answer(400, {"error": "the body ended before its Content-Length"})
                return
            status, data = receiver.handle(self.path, dict(self.headers.items()), body)
            self._answer(status, data)

        def do_GET(self) -> None:
            self._answer(200, receiver.stats())

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
