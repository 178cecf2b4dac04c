"""Run a coroutine to completion from a synchronous test, whatever else the worker runs.

The browser tests keep one Playwright (sync API) per worker for the whole session, and the sync
API leaves an asyncio loop marked as running on the worker's main thread; `asyncio.run` there
raises "cannot be called from a running event loop". A fresh thread has no loop, so the
coroutine gets its own, exactly as `asyncio.run` would give it on a quiet thread.
"""
from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)` on a thread of its own; exceptions propagate unchanged."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-loop") as pool:
        return pool.submit(asyncio.run, coroutine).result()
