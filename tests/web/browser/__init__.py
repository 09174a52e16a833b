"""Loket's pages in a real headless Chromium (Playwright).

WAIT_MS: how long an action or an assertion may wait. CI runs both suites at once, six
workers and their Chromiums on two cores; at its peak a login that takes a fraction of a
second alone has taken over 10 s. These tests check what appears, not how fast: bench/
measures speed.
"""

WAIT_MS = 20_000
