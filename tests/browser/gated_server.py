"""The product's server with one change for a browser test: a siting scenario's background
Monte Carlo run waits after each chunk of draws while the file named by
``GOVSHARE_TEST_SITES_GATE`` exists (or until the run is canceled).

The run of the largest scenario the form allows takes under a second on a quiet machine, so
a test that watches a run and cancels it would race the run's end. The gate makes the run
last exactly as long as the test needs; everything else (pages, jobs, cancel, the draws
themselves) is the product's own code. Run as
``python -m tests.browser.gated_server PORT`` with the browser server's environment.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import uvicorn

from govshare.sites import calc

GATE = Path(os.environ["GOVSHARE_TEST_SITES_GATE"])
_sensitivity = calc.sensitivity


def _gated(*args: Any, progress: Any = None, cancel: Any = None, **kwargs: Any) -> Any:
    def tick(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        while GATE.exists() and not (cancel is not None and cancel.is_set()):
            time.sleep(0.02)  # a file the test removes; nothing in-process to wait on
    return _sensitivity(*args, progress=tick, cancel=cancel, **kwargs)


calc.sensitivity = _gated

if __name__ == "__main__":
    uvicorn.run("govshare.web.app:create_app", factory=True, host="127.0.0.1",
                port=int(sys.argv[1]), access_log=False)
