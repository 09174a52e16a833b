"""The one way a test waits for what another thread or process does: poll, with a deadline.

Tests never sleep for a fixed time: they poll a check that reads the outcome (a row, a call
recorded by a fake, a process gone) and fail with what they waited for when it does not come.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(check: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Return as soon as `check()` is truthy; fail the test after `timeout` seconds.

    Timeouts are generous because a loaded 2-core CI machine is slow; a passing test waits
    only as long as the outcome takes.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or check}")
        time.sleep(0.02)
