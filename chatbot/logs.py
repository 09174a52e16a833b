"""One logging set-up for every Loket process: the CLI, `loket serve`'s web workers."""

from __future__ import annotations

import logging


def configure_logging(level: int) -> None:
    """Our lines at `level`; libraries that log too much kept to warnings.

    transitions logs a line per callback (every agent action in a web worker), and httpx
    logs every request at INFO, URLs with secrets in them included (Discord webhooks).
    """
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("transitions", "httpx"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
