"""Whether a client waiting in the queue asks how long it will take ("masih lama?")."""

from __future__ import annotations

import re

from flows.understanding import text

_SHORT = 10  # words: a longer message that says "masih lama" tells a story

_WAIT = re.compile(
    r"\b(?:masih lama|berapa lama|lama banget|lama sekali|lama amat|kok lama|lama ya|"
    r"kapan dibalas|kapan dibales|kapan direspon|kapan diproses|kapan ditangani|"
    r"antri(?:an)? (?:ke )?berapa|antre(?:an)? (?:ke )?berapa|urutan (?:ke )?berapa|"
    r"nomor antri\w*|masih antri\w*|masih nunggu|masih menunggu|sampai kapan|"
    r"how long|still waiting|when will|how many (?:people )?(?:are )?(?:ahead|before)|"
    r"my position|place in (?:the )?queue)\b"
)


def asks_about_wait(message: str) -> bool:
    """A question about the wait, in a short message (not a story that mentions a wait)."""
    line = " ".join(text.base_words(message))
    return len(line.split()) <= _SHORT and _WAIT.search(line) is not None
