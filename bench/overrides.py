"""What admin overrides cost on the hot path: render time and desk messages per second.

Usage:
    .venv/bin/python bench/overrides.py [--messages 3000]

Prints the time of one `PhraseBook.render` from the file default and from an admin override,
then `Desk.receive` throughput on a fresh SQLite file three ways: without the override source
(as before issue 6), with it and no override saved, and with every phrase overridden.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from chatbot.bootstrap import open_desk
from chatbot.clock import SystemClock
from chatbot.desk import Desk
from chatbot.domain import Inbound
from chatbot.editor import PhraseEditor
from chatbot.phrases import PhraseBook
from flows import phrase_keys
from settings import Settings

SCRIPT = ["halo kak", "aplikasi kasir error tidak bisa login sejak pagi", "Budi", "toko-budi"]


def _render_us(book: PhraseBook, n: int = 20_000) -> float:
    variables = phrase_keys.SAMPLE_VARIABLES[phrase_keys.GREETING_SALAM]
    start = time.perf_counter()
    for _ in range(n):
        book.render(phrase_keys.GREETING_SALAM, "id", variables)
    return (time.perf_counter() - start) / n * 1e6


def _throughput(desk: Desk, messages: int) -> float:
    start = time.perf_counter()
    for i in range(messages):
        desk.receive(
            Inbound(
                channel="terminal",
                chat_id=f"c{i // len(SCRIPT)}",
                message_id=f"m{i}",
                text=SCRIPT[i % len(SCRIPT)],
            )
        )
    return messages / (time.perf_counter() - start)


def _open(folder: Path, name: str) -> tuple[object, Desk]:
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
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        _, plain = _open(root, "plain")
        plain._overrides = None
        print(f"receive, no override source:    {_throughput(plain, args.messages):8.0f} msg/s")

        _, empty = _open(root, "empty")
        print(f"receive, source, none saved:    {_throughput(empty, args.messages):8.0f} msg/s")

        engine, full = _open(root, "full")
        editor = PhraseEditor(engine, full.phrases, SystemClock())  # type: ignore[arg-type]
        for state in editor.states():
            editor.save(state.key, state.locale, state.text + " ", "bench")  # same, as override
            editor.save(state.key, state.locale, state.text + ".", "bench")
        print(f"receive, every phrase edited:   {_throughput(full, args.messages):8.0f} msg/s")
        print(f"render default (file):          {_render_us(plain.phrases):8.1f} µs")
        print(f"render admin override:          {_render_us(full.phrases):8.1f} µs")


if __name__ == "__main__":
    main()
