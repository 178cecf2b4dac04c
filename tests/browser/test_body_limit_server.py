"""The body limit on the real server (uvicorn over a socket, issue 8, 2.7): a chunked 300 MB
upload and a 150 MB sign-in form are answered 413 after a few MB, and the connection is
closed rather than read to the end."""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

import pytest

MB = 1 << 20


def send_chunked(base_url: str, path: str, content_type: str, first: bytes, total_mb: int
                 ) -> tuple[str, int]:
    """Send up to ``total_mb`` MB, 1 MB a chunk, until the server answers or stops reading;
    the status line and the bytes sent."""
    url = urlsplit(base_url)
    sent = 0
    answer = b""
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: {content_type}"
                  "\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        filler = b"a" * MB
        try:
            for i in range(total_mb):
                body = first if i == 0 else filler
                s.sendall(f"{len(body):x}\r\n".encode() + body + b"\r\n")
                sent += len(body)
                if select.select([s], [], [], 0)[0]:
                    break  # the server has answered
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # it stopped reading: what it answered is in the socket
        try:
            while b"\r\n" not in answer:
                more = s.recv(65536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    return answer.split(b"\r\n")[0].decode(errors="replace"), sent


@pytest.mark.parametrize(("path", "content_type", "first", "total_mb"), [
    ("/requests/new", "multipart/form-data; boundary=B",
     b'--B\r\nContent-Disposition: form-data; name="photo"; filename="x.jpg"\r\n\r\n', 300),
    ("/login", "application/x-www-form-urlencoded", b"email=a%40b.org&password=", 150),
    ("/api/v1/assets", "application/json", b'{"name": "', 50),
])
def test_oversized_chunked_bodies_get_413_after_a_few_mb(
        base_url: str, path: str, content_type: str, first: bytes, total_mb: int) -> None:
    status, sent = send_chunked(base_url, path, content_type, first, total_mb)
    assert status.startswith("HTTP/1.1 413"), status
    assert sent < 32 * MB, sent  # the limit (5.25 MB at most here) plus socket buffers
