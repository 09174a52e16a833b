"""The acceptance check of the sample conversations (README.md), and a way to play them in process.

`failures()` states every expectation of the acceptance format (final state family, category,
secrets nowhere, bot replies, survey rating, no silence, and the optional language, reply
text and exact field values) as a list of what went wrong, so a
test can show all of them at once. Secrets are looked for in every text a person or the bot
wrote (`written_texts`), not in what the machine stamps on records: a secret "2580" must not
match the microseconds of a timestamp such as "14:32:36.258012".

`play()` runs the very code `loket chat` and `loket cases --json` run (chatbot.cli.main), in
this process, on a fresh database: the same path as the subprocess, without paying an
interpreter start per conversation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flows.understanding import language
from tests.loket_cli import loket


def failures(cases: list[dict[str, Any]], out: str, expect: dict[str, Any]) -> list[str]:
    """What of `expect` does not hold for the cases of one run (empty when all holds)."""
    if not cases:
        return ["no case was opened"]
    wrong: list[str] = []
    first = cases[0]
    family = expect["final_state_family"]
    state = first["state"]
    actual = "queued" if "queue" in state else "closed" if state == "closed" else "open"
    if actual != family:
        wrong.append(f"final state {state!r} is {actual}, expected {family}")
    if expect.get("category") is not None and first["category"] != expect["category"]:
        wrong.append(f"category {first['category']!r}, expected {expect['category']!r}")
    wrong.extend(leaks(cases, out, expect.get("must_not_contain_anywhere", [])))
    outbound = [m for m in first["messages"] if m["direction"] == "out"]
    if len(outbound) < expect.get("min_bot_replies", 0):
        wrong.append(f"{len(outbound)} bot replies, expected at least {expect['min_bot_replies']}")
    rating = expect.get("survey_rating")
    if rating is not None and first["survey"]["rating"] != rating:
        wrong.append(f"survey rating {first['survey']['rating']!r}, expected {rating}")
    wrong.extend(silences(cases))
    wrong.extend(repeated_question(cases, expect))
    wrong.extend(_language(first, expect.get("language")))
    replies = [m["text"] for c in cases for m in c["messages"] if m["direction"] == "out"]
    for wanted in expect.get("must_reply_containing", []):
        if not any(wanted.lower() in (text or "").lower() for text in replies):
            wrong.append(f"no bot reply contains {wanted!r}")
    values = set(first["fields"].values())
    wrong.extend(
        f"no field holds exactly {wanted!r} (fields: {first['fields']})"
        for wanted in expect.get("field_values", [])
        if wanted not in values
    )
    return wrong


def _language(case: dict[str, Any], locale: str | None) -> list[str]:
    """`language: en`: every bot reply after the first two is English (not Indonesian)."""
    if locale != "en":
        return []
    outbound = [m["text"] or "" for m in case["messages"] if m["direction"] == "out"]
    return [
        f"reply {n} is not English: {text[:60]!r}"
        for n, text in enumerate(outbound[2:], 3)
        if language.detect(text) == "id"
    ]


def repeated_question(cases: list[dict[str, Any]], expect: dict[str, Any]) -> list[str]:
    """A returning client asked again what they answered in their first case."""
    line = expect.get("second_case_must_not_repeat_question_before")
    if line is None:
        return []
    if len(cases) < 2:
        return ["no second case was opened"]
    transcript = cases[0]["messages"]
    index = next(
        (i for i, m in enumerate(transcript) if m["direction"] == "in" and m["text"] == line),
        None,
    )
    asked = [m for m in transcript[: index or 0] if m["direction"] == "out"]
    if index is None or not asked:
        return [f"no question before {line!r} in the first case"]
    question = asked[-1]
    again = [
        m
        for m in cases[1]["messages"]
        if m["direction"] == "out" and m.get("phrase_key") == question.get("phrase_key")
    ]
    return [f"case 2 asks again: {question['text']!r}"] if again else []


# Values the machine writes, never a person: moments ("at", "*_at") and provider message ids.
MACHINE_KEYS = frozenset({"at", "provider_id"})


def written_texts(value: Any, key: str = "") -> list[str]:
    """Every text in the records a person or the bot could have written (where secrets go).

    That is every string (message texts and errors, fields, contact, survey comment, notes,
    escalation and event details), except the machine-written `MACHINE_KEYS` and `*_at`.
    Numbers are not texts: ids and counts cannot carry a secret either.
    """
    if key in MACHINE_KEYS or key.endswith("_at"):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in written_texts(v, str(k))]
    if isinstance(value, list):
        return [t for item in value for t in written_texts(item, key)]
    return []


def leaks(cases: list[dict[str, Any]], out: str, secrets: list[str]) -> list[str]:
    """The secrets found in a written text of the cases or in what the chat printed."""
    texts = [*written_texts(cases), out]
    return [
        f"secret {secret!r} appears in the output"
        for secret in secrets
        if any(secret in text for text in texts)
    ]


def silences(cases: list[dict[str, Any]]) -> list[str]:
    """Client messages left without an answer while the bot still handled the case."""
    found = []
    for case in cases:
        transcript = case["messages"]
        for i, message in enumerate(transcript):
            if message["direction"] != "in":
                continue
            answered = i + 1 < len(transcript) and transcript[i + 1]["direction"] == "out"
            waiting = "queue" in case["state"] and all(
                m["direction"] == "in" for m in transcript[i:]
            )
            if not (answered or waiting):
                found.append(f"case {case['id']}: no answer to {message['text']!r}")
    return found


def play(
    profile: str, lines: list[str], workdir: str | Path, *, at: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Feed `lines` to `loket chat --profile PROFILE` and read `loket cases --json`, in-process.

    `at` (a local moment, "2026-11-28T21:00") plays the chat then (`loket chat --at`), for
    the office hours. Returns the cases and everything the chat printed.
    """
    when = ["--at", at] if at else []
    chat = loket(Path(workdir), "chat", "--profile", profile, *when, stdin="\n".join(lines) + "\n")
    assert chat.returncode == 0, chat.stderr
    cases = loket(Path(workdir), "cases", "--json")
    assert cases.returncode == 0, cases.stderr
    return list(json.loads(cases.stdout)), chat.stdout
