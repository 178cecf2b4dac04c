"""core.jobs: background computations of a page, found by id within their scope, joined
while running, limited in number, kept after they finish, their errors kept as text."""

from __future__ import annotations

import threading

import pytest

from govshare.core.jobs import Busy, Job, Jobs


def test_a_job_runs_reports_and_is_found_only_in_its_scope() -> None:
    jobs: Jobs[int] = Jobs("test")
    go = threading.Event()

    def work(job: Job[int]) -> int:
        job.progress = "half"
        go.wait(5)
        return 42

    job = jobs.start("k", 1, work, meta={"form": {"a": 1}})
    assert job.running and not job.wait(0.05)
    assert jobs.start("k", 1, work) is job  # the same work still running: joined
    assert jobs.start("k", 2, work) is not job  # another scope: its own
    assert jobs.get(job.id, 1) is job and jobs.get(job.id, 2) is None
    assert jobs.get("no-such-id", 1) is None
    go.set()
    assert job.wait(5) and job.result == 42 and job.error is None and job.progress == "half"
    assert job.meta == {"form": {"a": 1}}
    assert jobs.start("k", 1, work) is not job  # finished jobs are not joined


def test_cancel_errors_limits_and_keep() -> None:
    jobs: Jobs[str] = Jobs("test", keep=2, max_running=1)

    def until_canceled(job: Job[str]) -> str:
        job.cancel.wait(5)
        return "stopped"

    job = jobs.start("a", 1, until_canceled)
    with pytest.raises(Busy, match="running already"):
        jobs.start("b", 1, until_canceled)
    job.cancel.set()
    assert job.wait(5) and job.result == "stopped"

    def fails(job: Job[str]) -> str:
        raise ValueError("no plan today")

    bad = jobs.start("c", 1, fails)
    assert bad.wait(5) and bad.error == "no plan today" and bad.result is None
    done = [jobs.start(f"d{i}", 1, lambda j: "ok") for i in range(3)]
    for d in done:
        assert d.wait(5)
    jobs.start("e", 1, lambda j: "ok").wait(5)
    kept = [j for j in [job, bad, *done] if jobs.get(j.id, 1) is not None]
    assert len(kept) <= 2  # only the last few finished jobs are kept


def test_latest_finished_and_forget() -> None:
    """`latest`: the finished job of a key in a scope, with a result and not stopped by hand;
    `forget_finished` drops finished jobs and keeps running ones."""
    jobs: Jobs[str] = Jobs("test", keep=8, max_running=2)
    go = threading.Event()
    first = jobs.start("k", 1, lambda j: "first")
    assert first.wait(5)
    assert jobs.latest("k", 1) is first
    assert jobs.latest("k", 2) is None and jobs.latest("other", 1) is None
    second = jobs.start("k", 1, lambda j: "second")
    assert second.wait(5) and jobs.latest("k", 1) is second
    assert jobs.get(first.id, 1) is first  # looked at again: the most recent
    assert jobs.latest("k", 1) is first
    first.cancel.set()  # stopped by hand: not an answer to the key
    assert jobs.latest("k", 1) is second

    def boom(job: Job[str]) -> str:
        raise ValueError("no plan")

    failed = jobs.start("k", 1, boom)
    assert failed.wait(5) and failed.error == "no plan"
    assert jobs.latest("k", 1) is second  # a failed job has no result
    def late(job: Job[str]) -> str:
        go.wait(5)
        return "late"

    running = jobs.start("k", 1, late)
    assert jobs.latest("k", 1) is second  # a running one is not finished
    jobs.forget_finished()
    assert jobs.get(second.id, 1) is None and jobs.get(running.id, 1) is running
    assert jobs.latest("k", 1) is None
    go.set()
    assert running.wait(5) and jobs.latest("k", 1) is running
