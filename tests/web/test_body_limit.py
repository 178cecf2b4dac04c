"""Request bodies are bounded while they stream in, per kind of route (issue 8, 2.7).

The requests are driven straight through the ASGI app with a ``receive`` that makes the body
chunk by chunk and counts what the app pulled, so the tests see how much of a 300 MB body
was read, held in memory (tracemalloc) or spooled to disk (the multipart parser's files).
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from typing import Any

import pytest
import starlette.formparsers
from fastapi import FastAPI

from govshare.core.http import BodyLimit
from tests import aio

MB = 1 << 20
BOUNDARY = "gsboundary"


class Sent:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.pulled = 0  # body bytes the app asked for


def call(app: Any, path: str, *, total: int, content_type: str, declared: bool = False,
         first: bytes = b"", chunk: int = MB, method: str = "POST") -> Sent:
    """POST ``total`` bytes (``first``, then filler) in ``chunk``-sized messages; chunked
    unless ``declared`` (then with its Content-Length)."""
    out = Sent()
    headers = [(b"host", b"testserver"), (b"content-type", content_type.encode())]
    headers.append((b"content-length", str(total).encode()) if declared
                   else (b"transfer-encoding", b"chunked"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("203.0.113.9", 50000), "server": ("testserver", 80)}
    filler = b"a" * chunk

    async def receive() -> dict[str, Any]:
        if out.pulled >= total:
            await asyncio.sleep(0)
            return {"type": "http.disconnect"}
        body = first if out.pulled == 0 and first else filler[:min(chunk, total - out.pulled)]
        out.pulled += len(body)
        return {"type": "http.request", "body": body, "more_body": out.pulled < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out.status = message["status"]
            out.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out.body += message.get("body", b"")

    aio.run(app(scope, receive, send))
    return out


@pytest.fixture
def spooled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes written into each file the multipart parser spools (memory, then disk)."""
    written: list[int] = []
    base = starlette.formparsers.SpooledTemporaryFile

    class Counting(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.index = len(written)
            written.append(0)

        def write(self, data: bytes) -> int:  # type: ignore[override]
            written[self.index] += len(data)
            return int(super().write(data))

    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", Counting)
    return written


def multipart_head(field: str = "photo") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"big.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()


def test_a_300_mb_anonymous_upload_is_refused_before_disk_and_csrf(app: FastAPI,
                                                                    spooled: list[int]) -> None:
    tracemalloc.start()
    try:
        r = call(app, "/requests/new", total=300 * MB, first=multipart_head(),
                 content_type=f"multipart/form-data; boundary={BOUNDARY}")
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status == 413, r.body[:300]
    assert b"at most" in r.body and r.headers["content-type"].startswith("text/html")
    assert "x-request-id" in r.headers  # answered inside the envelope
    cap = 5 * MB + 256 * 1024  # the photo's 5 MB and the form's other fields
    assert r.pulled <= cap + MB  # read no further than the chunk that crossed the cap
    assert sum(spooled) <= cap  # never more than the cap in the parser's files
    assert peak < 40 * MB, peak


def test_a_150_mb_sign_in_form_never_grows_the_process(app: FastAPI) -> None:
    tracemalloc.start()
    try:
        r = call(app, "/login", total=150 * MB, first=b"email=a%40b.org&password=",
                 content_type="application/x-www-form-urlencoded", chunk=64 * 1024)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status == 413
    assert r.pulled <= 256 * 1024 + 64 * 1024  # the form limit and one chunk
    assert peak < 8 * MB, peak


def test_a_declared_length_over_the_limit_is_refused_before_reading(app: FastAPI) -> None:
    r = call(app, "/requests/new", total=300 * MB, declared=True, first=multipart_head(),
             content_type=f"multipart/form-data; boundary={BOUNDARY}")
    assert r.status == 413 and r.pulled == 0
    assert r.headers.get("connection") == "close"


def test_the_api_answers_413_as_problem_json(app: FastAPI) -> None:
    r = call(app, "/api/v1/assets", total=2 * MB, first=b'{"name": "',
             content_type="application/json")
    assert r.status == 413 and r.pulled <= 2 * MB
    doc = json.loads(r.body)
    assert doc["code"] == "payload-too-large" and doc["status"] == 413
    assert "1 MB" in doc["detail"]
    o311 = call(app, "/open311/v2/requests.json", total=3 * MB, first=b"api_key=x&",
                content_type="application/x-www-form-urlencoded")
    assert o311.status == 413 and o311.pulled <= 2 * MB


def test_each_route_gets_its_kind_of_limit(app: FastAPI) -> None:
    limits = {"form": 256 * 1024, "api": MB, "upload": 25 * MB}
    middleware = BodyLimit(app, limits=limits)

    def limit(method: str, path: str) -> tuple[str, int]:
        return middleware.limit_for({"type": "http", "method": method, "path": path,
                                     "root_path": "", "app": app})

    assert limit("POST", "/login") == ("form", 256 * 1024)
    assert limit("POST", "/admin/users") == ("form", 256 * 1024)
    assert limit("POST", "/property/import") == ("upload", 25 * MB)
    assert limit("POST", "/admin/jurisdictions/3/boundary") == ("upload", 20 * MB + 64 * 1024)
    assert limit("PUT", "/api/v1/jurisdictions/3/boundary") == ("upload", 25 * MB)
    assert limit("POST", "/requests/new") == ("upload", 5 * MB + 256 * 1024)
    assert limit("POST", "/api/v1/assets") == ("api", MB)
    # carbon's factor and GWP files, on the page and the API alike
    for path in ("/carbon/factor-sets", "/api/v1/carbon/factor-sets"):
        assert limit("POST", path) == ("upload", 20_000_000 + 64 * 1024)
    for path in ("/carbon/gwp-sets", "/api/v1/carbon/gwp-sets"):
        assert limit("POST", path) == ("upload", 1_000_000 + 64 * 1024)
    assert limit("POST", "/open311/v2/requests.json") == ("api", MB)
    assert limit("POST", "/no/such/page") == ("form", 256 * 1024)


def test_bodies_under_the_limit_pass_untouched(app: FastAPI) -> None:
    """A 2 MB file reaches the import page's own checks (the CSRF refusal), not a 413."""
    r = call(app, "/property/import", total=2 * MB, first=multipart_head("file"),
             content_type=f"multipart/form-data; boundary={BOUNDARY}", chunk=256 * 1024)
    assert r.status != 413 and r.pulled == 2 * MB
    small = call(app, "/login", total=40, first=b"email=a%40b.org&password=x&next=%2F",
                 content_type="application/x-www-form-urlencoded")
    assert small.status == 403  # no CSRF token: refused by the form's own check
