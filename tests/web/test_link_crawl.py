"""No broken links (issue 9 §3): every internal link of the demo, public and signed in,
answers without a 404 (or a server error).

The crawl starts from the home page and the main entry points and follows every ``href`` on
every HTML page it reaches. Links that differ only in their numbers (one asset page or
another) or in their query values are one kind of link: up to three of each kind are
followed, so every template's links are tried without walking all 190 assets.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

from fastapi.testclient import TestClient

from tests.conftest import login

START = ["/", "/services", "/here?zip=98104", "/here?lon=-122.3351&lat=47.608",
         "/locate?address=12525+Stone+Ave+N", "/requests/new", "/tell-us-once",
         "/property/public", "/requests/track"]
SKIP = ("/logout", "/static/", "/media/", "/api/v1/docs")
PER_KIND = 3
MAX_PAGES = 700


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for k, v in attrs:
                if k == "href" and v:
                    self.hrefs.append(v)


def _kind(url: str) -> str:
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


def crawl(client: TestClient) -> tuple[int, list[str], set[str]]:
    seen: set[str] = set()
    per_kind: dict[str, int] = {}
    queue: deque[tuple[str, str]] = deque((u, "(start)") for u in START)
    broken: list[str] = []
    visited = 0
    while queue and visited < MAX_PAGES:
        url, source = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        kind = _kind(url)
        if per_kind.get(kind, 0) >= PER_KIND:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        r = client.get(url, follow_redirects=True)
        visited += 1
        if r.status_code == 404 or r.status_code >= 500:
            broken.append(f"{url} -> {r.status_code} (linked from {source})")
            continue
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        parser = _Links()
        parser.feed(r.text)
        for href in parser.hrefs:
            target, _ = urldefrag(urljoin("http://testserver" + url, href))
            parts = urlsplit(target)
            if parts.netloc != "testserver" or parts.scheme not in ("http", "https"):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path.startswith(SKIP) or path in seen:
                continue
            queue.append((path, url))
    return visited, broken, seen


def test_no_public_link_is_broken(client: TestClient) -> None:
    visited, broken, seen = crawl(client)
    assert visited > 30
    # The life events whose links answered 404 before (no written guide) are reached.
    assert {"/life-events/retiring", "/life-events/going_to_school",
            "/life-events/home_and_street"} <= seen
    assert broken == [], "broken links:\n" + "\n".join(broken)


def test_no_signed_in_link_is_broken(client: TestClient) -> None:
    login(client, "admin@demo.govshare.org")
    visited, broken, seen = crawl(client)
    assert visited > 60 and "/staff/requests" in seen
    assert broken == [], "broken links:\n" + "\n".join(broken)
