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
