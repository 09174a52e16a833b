"""What admin overrides cost on the hot path: render time and desk messages per second.

Usage:
    .venv/bin/python bench/overrides.py [--messages 3000]

Prints `Desk.receive` throughput on fresh SQLite files three ways: without the override source
(as before admin overrides existed), with it and no override saved, and with every phrase
overridden (best of two rounds after a warm-up); then the time of one `PhraseBook.render`
from the file default and from an admin override.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine

from chatbot.admin.editor import PhraseEditor
from chatbot.clock import SystemClock
from chatbot.domain import Inbound
from chatbot.frontdesk.desk import Desk
from chatbot.frontdesk.phrases import PhraseBook
from chatbot.runtime.bootstrap import open_desk
from flows import phrase_keys
from settings import Settings

SCRIPT = ["halo kak", "aplikasi kasir error tidak bisa login sejak pagi", "Budi", "toko-budi"]


def _render_us(book: PhraseBook, n: int = 20_000) -> float:
    variables = phrase_keys.SAMPLE_VARIABLES[phrase_keys.GREETING_SALAM]
    start = time.perf_counter()
    for _ in range(n):
        book.render(phrase_keys.GREETING_SALAM, "id", variables)
    return (time.perf_counter() - start) / n * 1e6


def _throughput(desk: Desk, messages: int, run: str) -> float:
    start = time.perf_counter()
    for i in range(messages):
        desk.receive(
            Inbound(
                channel="terminal",
                chat_id=f"{run}c{i // len(SCRIPT)}",
                message_id=f"{run}m{i}",
                text=SCRIPT[i % len(SCRIPT)],
            )
        )
    return messages / (time.perf_counter() - start)


def _open(folder: Path, name: str) -> tuple[Engine, Desk]:
    settings = Settings(database_url=f"sqlite:///{folder}/{name}.db", _env_file=None)  # type: ignore[call-arg]
    return open_desk(
        database_url=settings.database_url,
        scripts_dir=settings.scripts_dir,
        profiles_dir=settings.profiles_dir,
        profile="erzap",
        locale="id",
        clock=SystemClock(),
    )


def main() -> None:
    """Run the measurements (best of two rounds, after a warm-up) and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _, plain = _open(root, "plain")
        plain._overrides = None  # the desk as it was before overrides
        _, empty = _open(root, "empty")
        engine, full = _open(root, "full")
        editor = PhraseEditor(engine, full.phrases, SystemClock())
        for state in editor.states():
            editor.save(state.key, state.locale, state.text + ".", "bench")
        desks = {
            "receive, no override source (before #6)": plain,
            "receive, override source, none saved": empty,
            "receive, every phrase overridden": full,
        }
        best = dict.fromkeys(desks, 0.0)
        for round_ in range(3):  # round 0 warms up (imports, statement and template caches)
            for name, desk in desks.items():
                rate = _throughput(desk, args.messages if round_ else 200, f"r{round_}")
                best[name] = max(best[name], rate) if round_ else 0.0
        for name, rate in best.items():
            print(f"{name:42} {rate:8.0f} msg/s")
        print(f"{'render greeting.salam, file default':42} {_render_us(plain.phrases):8.1f} µs")
        print(f"{'render greeting.salam, admin override':42} {_render_us(full.phrases):8.1f} µs")


if __name__ == "__main__":
    main()
