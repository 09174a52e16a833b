"""Opt-out and opt-in words in a client's message, and what the register does with them.

Detected once in the step service (chatbot/frontdesk/desk.py) for every channel. Only a
message that is nothing but the request (with a "kak" or "ya" around it) counts, so
"stop dulu ya kak, saya cek modemnya" or "mau berhenti langganan indihome" are not taken as
an opt-out: those are conversations for the desk.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from db import campaign_queries as cq
from flows import guards
from flows import phrase_keys as keys

OPT_OUT_KEY = keys.CAMPAIGN_OPTED_OUT
OPT_IN_KEY = keys.CAMPAIGN_OPTED_IN

_OUT = {
    "berhenti",
    "stop",
    "unsubscribe",
    "unsub",
    "jangan kirim lagi",
    "jangan kirim pesan lagi",
    "jangan kirimi lagi",
    "jangan kirim kirim lagi",
    "jangan hubungi lagi",
    "jangan hubungi saya lagi",
    "stop kirim",
    "berhenti kirim",
    "stop promo",
    "opt out",
    "optout",
    "stop all",
    # slang is read as standard words first: "gk usah kirim2 lg" is "tidak usah kirim lagi"
    "tidak usah kirim lagi",
    "tidak usah kirim",
    "tidak usah dikirim lagi",
    "tidak usah kirim pesan lagi",
    "tidak perlu kirim lagi",
    "tidak perlu kirim pesan lagi",
}
_IN = {"mulai", "start", "subscribe", "opt in", "optin", "unstop", "mulai lagi"}
_FILLER = {"kak", "ka", "kakak", "min", "mimin", "admin", "ya", "yah", "tolong", "mohon"}
_FILLER |= {"please", "pls", "aja", "saja", "dong", "deh", "ok", "oke", "sis", "gan", "bro"}
_WORD = re.compile(r"[a-z]+")


def keyword(text: str) -> Literal["out", "in"] | None:
    """Out for BERHENTI / STOP / UNSUBSCRIBE / JANGAN KIRIM LAGI..., in for MULAI / START."""
    # standard words ("gk" is "tidak"), a doubled word's "2" dropped ("kirim2" is "kirim")
    parts = (part for w in guards.words(text) for part in _WORD.findall(w.rstrip("2")))
    words = [w for w in parts if w not in _FILLER]
    if not words or len(words) > 6:
        return None
    phrase = " ".join(words)
    if phrase in _OUT:
        return "out"
    if phrase in _IN:
        return "in"
    return None


def apply(conn: Connection, *, channel: str, chat_id: str, text: str, now: datetime) -> str | None:
    """Record an opt-out or opt-in the message asks for; the phrase key to answer, or None.

    An opt-out is always confirmed (again, if the number was in the register already). A
    "MULAI"/"START" only counts from a number in the register: from anyone else it is an
    ordinary message (Telegram's /start, a greeting) and the desk answers it as usual.
    """
    wish = keyword(text)
    if wish == "out":
        cq.opt_out(
            conn,
            address=chat_id,
            channel=channel,
            reason=text.strip()[:64],
            actor="client",
            now=now,
        )
        return OPT_OUT_KEY
    if wish == "in" and cq.opt_in(conn, address=chat_id):
        return OPT_IN_KEY
    return None
