"""Every phrase key a flow may say, with sample variables; the completeness test iterates them."""

from __future__ import annotations

from typing import get_args

from flows.profiles.schema import FieldKind

GREETING_SALAM = "greeting.salam"
GREETING_WELCOME = "greeting.welcome"
CHRONOLOGY_REASK = "chronology.reask"
CHRONOLOGY_MEDIA_RECEIVED = "chronology.media_received"
CHRONOLOGY_RECEIVED = "chronology.received"
CHRONOLOGY_TROUBLESHOOTING = "chronology.troubleshooting"
VERIFICATION_NOTED = "verification.noted"
VERIFICATION_MEDIA_NOTED = "verification.media_noted"
VERIFICATION_HANDOFF = "verification.handoff"
VERIFICATION_TEXT_ONLY = "verification.text_only"
QUEUE_PLEASE_WAIT = "queue.please_wait"
QUEUE_ALREADY_QUEUED = "queue.already_queued"
QUEUE_AFTER_HOURS = "queue.after_hours"  # the hand-off while the team is off
VERIFICATION_CONFIRM_KNOWN = "verification.confirm_known"  # a returning client's data
QUEUE_HUMAN_REQUESTED = "queue.human_requested"
QUEUE_POSITION = "queue.position"  # `position` is filled in by the desk, which sees the queue
SELF_SERVICE_FAQ_ANSWER = "self_service.faq_answer"
SELF_SERVICE_ASK_SOLVED = "self_service.ask_solved"
SELF_SERVICE_REASK_SOLVED = "self_service.reask_solved"
CLOSING_EASY = "closing.easy"
CLOSING_NORMAL_HARD = "closing.normal_hard"
CLOSING_REASK_CONFIRM = "closing.reask_confirm"
SURVEY_ASK_RATING = "survey.ask_rating"
SURVEY_REASK_RATING = "survey.reask_rating"
SURVEY_ASK_COMMENT = "survey.ask_comment"
SURVEY_THANKS = "survey.thanks"
CANCEL_DONE = "cancel.done"
CANCEL_NOTHING_OPEN = "cancel.nothing_open"
CLOSING_YOU_ARE_WELCOME = "closing.you_are_welcome"
AGENT_GREETING = "agent.greeting"
AGENT_ASK_DATA = "agent.ask_data"
AGENT_ASK_ACCESS = "agent.ask_access"
AGENT_UPDATE_SOON = "agent.update_soon"
AGENT_HANDED_BACK = "agent.handed_back"
ESCALATION_CHECKING = "escalation.checking"
ESCALATION_FIXED = "escalation.fixed"
BUTTON_YES = "buttons.yes"
BUTTON_NO = "buttons.no"
BUTTON_SKIP = "buttons.skip"
CAMPAIGN_OPTED_OUT = "campaign.opted_out"  # #16: the opt-out register's confirmations
CAMPAIGN_OPTED_IN = "campaign.opted_in"

# The standard phrases an agent sends with one click in the console
# (docs/procedures.md#erzap-phrases).
# Each gets `client_name` (may be empty), `agent_name` and `desk_name`.
STANDARD_PHRASES = (
    AGENT_GREETING,
    CHRONOLOGY_RECEIVED,
    AGENT_ASK_DATA,
    AGENT_ASK_ACCESS,
    ESCALATION_CHECKING,
    AGENT_UPDATE_SOON,
    ESCALATION_FIXED,
)

# Verification questions are per field key, re-asks per field kind (see flows/profiles/).
FIELD_KEYS: tuple[str, ...] = ("name", "outlet", "domain", "location", "proof", "event")
FIELD_KEYS += ("identity", "phone")
FIELD_KEYS += ("service_status", "satisfaction")  # #16: Telkom's caring questions
FIELD_KINDS: tuple[str, ...] = get_args(FieldKind)  # each kind has its re-ask phrase


def ask_field(field_key: str) -> str:
    """The phrase that asks for one verification field."""
    return f"verification.ask_{field_key}"


def reask_field(field_kind: str) -> str:
    """The phrase that explains what a valid answer of this kind looks like."""
    return f"verification.reask_{field_kind}"


_LABEL: dict[str, object] = {"label": "nama"}
SAMPLE_VARIABLES: dict[str, dict[str, object]] = {
    GREETING_SALAM: {"desk_name": "HaloERZAP", "salam": True},
    GREETING_WELCOME: {"welcome_text": "Selamat datang di HaloERZAP."},
    CHRONOLOGY_REASK: {},
    CHRONOLOGY_MEDIA_RECEIVED: {},
    CHRONOLOGY_RECEIVED: {},
    CHRONOLOGY_TROUBLESHOOTING: {"advice": "Catat tamu secara manual dulu ya kak."},
    VERIFICATION_NOTED: {},
    VERIFICATION_MEDIA_NOTED: _LABEL,
    VERIFICATION_HANDOFF: {},
    VERIFICATION_TEXT_ONLY: _LABEL,
    QUEUE_PLEASE_WAIT: {},
    QUEUE_ALREADY_QUEUED: {},
    QUEUE_AFTER_HOURS: {
        "weekday": 0,
        "time": "08.00",
        "date": "28/12/2026",
        "days_ahead": 2,
        "zone": "WIB",
    },
    VERIFICATION_CONFIRM_KNOWN: {
        "items": [{"label": "nama", "value": "Rina"}, {"label": "outlet", "value": "Toko Berkah"}]
    },
    QUEUE_HUMAN_REQUESTED: {},
    QUEUE_POSITION: {"position": 3},
    SELF_SERVICE_FAQ_ANSWER: {"answer": "1. Buka menu Pengguna."},
    SELF_SERVICE_ASK_SOLVED: {},
    SELF_SERVICE_REASK_SOLVED: {},
    CLOSING_EASY: {},
    CLOSING_NORMAL_HARD: {},
    CLOSING_REASK_CONFIRM: {},
    SURVEY_ASK_RATING: {},
    SURVEY_REASK_RATING: {},
    SURVEY_ASK_COMMENT: {},
    SURVEY_THANKS: {},
    CANCEL_DONE: {},
    CANCEL_NOTHING_OPEN: {},
    CLOSING_YOU_ARE_WELCOME: {},
    AGENT_GREETING: {"client_name": "Wulan", "agent_name": "Sari", "desk_name": "HaloERZAP"},
    AGENT_ASK_DATA: {"client_name": "Wulan"},
    AGENT_ASK_ACCESS: {"client_name": "Wulan"},
    AGENT_UPDATE_SOON: {"client_name": "Wulan"},
    AGENT_HANDED_BACK: {},
    ESCALATION_CHECKING: {"client_name": "Wulan"},
    ESCALATION_FIXED: {"client_name": "Wulan"},
    BUTTON_YES: {},
    BUTTON_NO: {},
    BUTTON_SKIP: {},
    CAMPAIGN_OPTED_OUT: {},
    CAMPAIGN_OPTED_IN: {},
    **{ask_field(key): _LABEL for key in FIELD_KEYS},
    **{reask_field(kind): _LABEL for kind in FIELD_KINDS},
}
# --- #17: Operations routing and technician visits (docs/visits.md) ---
VISIT_REMOTE_INTRO = "visit.remote_intro"
VISIT_SCHEDULED = "visit.scheduled"
VISIT_STATUS_PHRASES = {  # a visit's new status -> what the client hears
    "on_the_way": "visit.on_the_way",
    "arrived": "visit.arrived",
    "fixed": "visit.done",
    "not_fixed": "visit.not_fixed",
    "cancelled": "visit.cancelled",
}
_CLIENT: dict[str, object] = {"client_name": "Wulan"}
_TECH: dict[str, object] = {"client_name": "Wulan", "technician": "Budi"}
SAMPLE_VARIABLES.update(
    {
        VISIT_REMOTE_INTRO: _CLIENT,
        "visit.remote_restart": {},
        "visit.remote_check_cable": {},
        "visit.remote_check_coin": {},
        VISIT_SCHEDULED: {**_TECH, "window": "Senin, 7 Des 2026 09:00-12:00"},
        **{key: _TECH for key in VISIT_STATUS_PHRASES.values()},
    }
)
# --- #14: a file a web chat client uploads is refused (docs/agent-desk.md#attachments) ---
UPLOAD_TOO_LARGE = "upload.too_large"
UPLOAD_NOT_ACCEPTED = "upload.not_accepted"
SAMPLE_VARIABLES.update(
    {UPLOAD_TOO_LARGE: {"limit_mb": 16}, UPLOAD_NOT_ACCEPTED: {"allowed": "jpg, png, pdf"}}
)
# --- a web chat post refused by the throttle: typing too fast, or too many chats from here ---
CHAT_TOO_FAST = "chat.too_fast"
CHAT_TOO_MANY_OPEN = "chat.too_many_open"
SAMPLE_VARIABLES.update({CHAT_TOO_FAST: {}, CHAT_TOO_MANY_OPEN: {}})
# --- "jam buka kapan ya?": the working week from the profile's office hours ---
OFFICE_HOURS_WEEK = "office_hours.week"
SAMPLE_VARIABLES[OFFICE_HOURS_WEEK] = {
    "week": [
        {"first": 0, "last": 4, "shifts": ["08.00-12.00", "13.00-17.00"]},
        {"first": 5, "last": 5, "shifts": ["08.00-12.00"]},
    ],
    "zone": "WIB",
    "holidays_closed": True,
}
ALL: tuple[str, ...] = tuple(SAMPLE_VARIABLES)
