"""The front-desk procedure as one transitions machine: greeting to survey, or to an agent.

One Machine is built per process. Each event loads a Turn bound to it (bound once, then
reused: binding costs more than the whole step), fires one trigger and hands back an
Outcome: what to say (Reply) and what to do (Effect); the desk stores both.
"""

from __future__ import annotations

import enum
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from transitions import Machine

from flows import classify, guards, routing
from flows import phrase_keys as keys
from flows.events import (
    Button,
    CloseCase,
    Effect,
    FlowEvent,
    QueueCase,
    RecordSurvey,
    Reply,
    ResolveCase,
    RouteCase,
    SetCategory,
    Trigger,
)
from flows.profiles.schema import Profile, VerificationField
from flows.understanding import extract, language, people, waiting


class State(enum.Enum):
    """Where a case waits; the value is what the database and the CLI show."""

    NEW = "new"
    CHRONOLOGY = "chronology"
    VERIFICATION = "verification"
    SELF_SERVICE = "self_service"
    QUEUED = "queued"
    WITH_AGENT = "with_agent"
    ESCALATED = "escalated"  # with an agent, reported to the developer/IT team
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SURVEY_RATING = "survey_rating"
    SURVEY_COMMENT = "survey_comment"
    CLOSED = "closed"


S = State
BOT_STATES = [S.NEW, S.CHRONOLOGY, S.VERIFICATION, S.SELF_SERVICE, S.AWAITING_CONFIRMATION]
SURVEY_STATES = [S.SURVEY_RATING, S.SURVEY_COMMENT]
AGENT_STATES = [S.WITH_AGENT, S.ESCALATED]

# Read top to bottom: for one trigger and source, the first transition whose guards pass wins.
TRANSITIONS: list[dict[str, Any]] = [
    # --- the client calls it off, or asks for a person, at any point ---
    {
        "trigger": "client_cancelled",
        "source": [*BOT_STATES, S.QUEUED, *AGENT_STATES],
        "dest": S.CLOSED,
        "after": ["say_cancelled", "mark_cancelled"],
    },
    {
        "trigger": "client_cancelled",
        "source": SURVEY_STATES,
        "dest": S.CLOSED,
        "after": ["say_survey_thanks", "mark_closed"],
    },
    {
        "trigger": "client_asked_for_human",
        "source": S.NEW,
        "dest": S.QUEUED,
        "after": ["say_salam", "note_request_story", "say_handover", "mark_queued"],
    },
    {
        "trigger": "client_asked_for_human",
        "source": [*BOT_STATES[1:], *SURVEY_STATES],
        "dest": S.QUEUED,
        "after": ["note_request_story", "mark_category", "say_handover", "mark_queued"],
    },
    {
        "trigger": "client_asked_for_human",
        "source": S.QUEUED,
        "dest": None,
        "after": "say_already_queued",
    },
    # a person already has the chat: the agent sees the message, the bot stays silent
    {"trigger": "client_asked_for_human", "source": AGENT_STATES, "dest": None},
    # --- greeting and chronology ---
    {  # "jam buka kapan ya?": the hours, then the welcome's question stands
        "trigger": "client_wrote",
        "source": S.NEW,
        "dest": S.CHRONOLOGY,
        "conditions": "asks_office_hours",
        "after": ["say_salam", "say_office_hours"],
    },
    {
        "trigger": "client_wrote",
        "source": S.CHRONOLOGY,
        "dest": None,
        "conditions": "asks_office_hours",
        "after": "say_office_hours",
    },
    {
        "trigger": "client_wrote",
        "source": S.NEW,
        "dest": S.SELF_SERVICE,
        "conditions": ["has_story", "answers_faq_first"],
        "after": [
            "say_salam",
            "note_story",
            "note_faq_first",
            "mark_category",
            "say_faq_answer",
            "say_ask_solved",
        ],
    },
    {
        "trigger": "client_wrote",
        "source": S.NEW,
        "dest": S.VERIFICATION,
        "conditions": "has_story",
        "after": ["say_salam", "note_story", "say_received", "say_troubleshooting", "progress"],
    },
    {
        "trigger": "client_wrote",
        "source": S.NEW,
        "dest": S.CHRONOLOGY,
        "conditions": "has_attachment",
        "after": ["say_salam", "say_media_received"],
    },
    {
        "trigger": "client_wrote",
        "source": S.NEW,
        "dest": S.CHRONOLOGY,
        "after": ["say_salam", "say_welcome"],
    },
    {
        "trigger": "client_wrote",
        "source": S.CHRONOLOGY,
        "dest": S.VERIFICATION,
        "conditions": "has_story",
        "after": ["note_story", "say_received", "say_troubleshooting", "progress"],
    },
    {
        "trigger": "client_wrote",
        "source": S.CHRONOLOGY,
        "dest": None,
        "conditions": "has_attachment",
        "after": "say_media_received",
    },
    {
        "trigger": "client_wrote",
        "source": S.CHRONOLOGY,
        "dest": None,
        "conditions": "is_small_talk",
        "after": ["note_small_talk", "say_reask_story"],
    },
    {
        "trigger": "client_wrote",
        "source": S.CHRONOLOGY,
        "dest": S.QUEUED,
        "conditions": "is_last_failure",
        "after": ["say_please_wait", "mark_queued"],
    },
    {
        "trigger": "client_wrote",
        "source": S.CHRONOLOGY,
        "dest": None,
        "after": ["count_failure", "say_reask_story"],
    },
    # --- verification, one field at a time ---
    # a returning client's older data: confirmed with a yes, asked afresh otherwise
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": ["is_confirming_known", "is_data_confirmed"],
        "after": ["adopt_known", "progress"],
    },
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": "is_confirming_known",
        "after": ["drop_known", "progress"],
    },
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": "has_valid_answer",
        "after": ["store_answer", "progress"],
    },
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": "looks_like_story",
        "after": ["note_story", "say_noted", "progress"],
    },
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": "is_attachment_only",
        "after": "say_media_noted",
    },
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": S.QUEUED,
        "conditions": "is_last_failure",
        "after": ["mark_category", "say_verification_handoff", "say_please_wait", "mark_queued"],
    },
    {
        "trigger": "client_wrote",
        "source": S.VERIFICATION,
        "dest": None,
        "after": ["count_failure", "say_reask_field"],
    },
    # `progressed` is fired by the flow itself after an answer: ask the next field or decide.
    {
        "trigger": "progressed",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": "has_known_to_confirm",
        "after": "say_confirm_known",
    },
    {
        "trigger": "progressed",
        "source": S.VERIFICATION,
        "dest": None,
        "conditions": "has_missing_field",
        "after": "say_ask_field",
    },
    {
        "trigger": "progressed",
        "source": S.VERIFICATION,
        "dest": S.SELF_SERVICE,
        "conditions": "has_faq_answer",
        "after": ["mark_category", "say_faq_answer", "say_ask_solved"],
    },
    {
        "trigger": "progressed",
        "source": S.VERIFICATION,
        "dest": S.QUEUED,
        "after": ["mark_category", "say_please_wait", "mark_queued"],
    },
    # --- Easy: the FAQ answer, then "did that solve it?" ---
    {
        # answered before verification (faq_before_verification): verify, then an agent
        "trigger": "client_wrote",
        "source": S.SELF_SERVICE,
        "dest": S.VERIFICATION,
        "conditions": ["is_no", "was_answered_first", "has_missing_field"],
        "after": ["say_received", "say_ask_field"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SELF_SERVICE,
        "dest": S.QUEUED,
        "conditions": "is_no",
        "after": ["say_please_wait", "mark_queued"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SELF_SERVICE,
        "dest": S.SURVEY_RATING,
        "conditions": "is_yes",
        "after": ["mark_resolved", "say_closing_easy", "say_ask_rating"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SELF_SERVICE,
        "dest": S.QUEUED,
        "conditions": "is_last_failure",
        "after": ["say_please_wait", "mark_queued"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SELF_SERVICE,
        "dest": None,
        "after": ["count_failure", "say_reask_solved"],
    },
    # --- the agent queue and the agent (worked in the agent desk) ---
    {
        "trigger": "client_wrote",
        "source": S.QUEUED,
        "dest": None,
        "conditions": "asks_about_wait",
        "after": "say_queue_position",
    },
    {
        # the fallback ladder goes on while the client waits ("search by name juga gagal")
        "trigger": "client_wrote",
        "source": S.QUEUED,
        "dest": None,
        "conditions": "has_new_troubleshooting",
        "after": ["note_story", "say_troubleshooting", "mark_recategorised"],
    },
    {
        "trigger": "client_wrote",
        "source": S.QUEUED,
        "dest": None,
        "unless": "was_reassured",
        "after": ["note_reassured", "say_already_queued"],
    },
    {"trigger": "client_wrote", "source": [S.QUEUED, *AGENT_STATES], "dest": None},
    {"trigger": "agent_took_over", "source": [S.QUEUED, *BOT_STATES[1:]], "dest": S.WITH_AGENT},
    {"trigger": "agent_took_over", "source": AGENT_STATES, "dest": None},  # transfer
    {
        "trigger": "agent_handed_back",
        "source": [S.QUEUED, S.WITH_AGENT],
        "dest": S.VERIFICATION,
        "conditions": ["has_told_story", "has_missing_field"],
        "after": ["mark_returned", "say_handed_back", "say_ask_field"],
    },
    {
        "trigger": "agent_handed_back",
        "source": [S.QUEUED, S.WITH_AGENT],
        "dest": S.CHRONOLOGY,
        "after": ["mark_returned", "say_handed_back", "say_reask_story"],
    },
    # --- escalation to the developer/IT team (docs/procedures.md#erzap-developer-report) ---
    {
        "trigger": "agent_escalated",
        "source": AGENT_STATES,
        "dest": S.ESCALATED,
        "after": "say_escalation_checking",
    },
    {
        "trigger": "agent_verified_fix",
        "source": S.ESCALATED,
        "dest": S.WITH_AGENT,
        "after": "say_escalation_fixed",
    },
    {
        "trigger": "agent_resolved",
        "source": [S.QUEUED, *AGENT_STATES],
        "dest": S.SURVEY_RATING,
        "conditions": "is_easy_case",
        "after": ["say_closing_easy", "say_ask_rating"],
    },
    {
        "trigger": "agent_resolved",
        "source": [S.QUEUED, *AGENT_STATES],
        "dest": S.AWAITING_CONFIRMATION,
        "after": "say_closing_normal_hard",
    },
    # --- closing: confirmation (or 20 minutes of silence), then the survey ---
    {
        "trigger": "client_wrote",
        "source": S.AWAITING_CONFIRMATION,
        "dest": S.QUEUED,
        "conditions": "is_no",
        "after": ["say_please_wait", "mark_queued"],
    },
    {
        "trigger": "client_wrote",
        "source": S.AWAITING_CONFIRMATION,
        "dest": S.SURVEY_RATING,
        "conditions": "is_yes",
        "after": ["say_closing_easy", "say_ask_rating"],
    },
    {
        "trigger": "client_wrote",
        "source": S.AWAITING_CONFIRMATION,
        "dest": None,
        "after": "say_reask_confirm",
    },
    {
        "trigger": "timer_expired",
        "source": S.AWAITING_CONFIRMATION,
        "dest": S.SURVEY_RATING,
        "after": ["mark_closed_by_silence", "say_closing_easy", "say_ask_rating"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SURVEY_RATING,
        "dest": S.SURVEY_COMMENT,
        "conditions": "has_rating",
        "after": ["record_rating", "say_ask_comment"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SURVEY_RATING,
        "dest": S.CLOSED,
        "conditions": "is_last_failure",
        "after": ["say_survey_thanks", "mark_closed"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SURVEY_RATING,
        "dest": None,
        "after": ["count_failure", "say_reask_rating"],
    },
    {  # a second tap on the rating buttons: the client changed their mind, not a comment
        "trigger": "client_wrote",
        "source": S.SURVEY_COMMENT,
        "dest": None,
        "conditions": "is_rating_button",
        "after": ["record_rating", "say_ask_comment"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SURVEY_COMMENT,
        "dest": S.CLOSED,
        "conditions": "is_skip",
        "after": ["say_survey_thanks", "mark_closed"],
    },
    {
        "trigger": "client_wrote",
        "source": S.SURVEY_COMMENT,
        "dest": S.CLOSED,
        "after": ["record_comment", "say_survey_thanks", "mark_closed"],
    },
    {
        "trigger": "timer_expired",
        "source": SURVEY_STATES,
        "dest": S.CLOSED,
        "after": "mark_closed",
    },
]

_YES_NO = (Button("yes", label_key=keys.BUTTON_YES), Button("no", label_key=keys.BUTTON_NO))
# The digit too: where no emoji font exists the stars show as empty boxes.
_RATING = tuple(Button(f"rating:{n}", label=f"{n} " + "⭐" * n) for n in range(1, 6))
_SMALL_TALK_LIMIT = 3  # greetings before the story that do not count as failed answers
_REQUEST_ONLY_WORDS = 8  # a request for a person longer than this tells the story too
_STORY_LIMIT = 4000  # characters of chronology kept for classification


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event did to a case: its new state and memory, what to say, what to do."""

    state: State
    locale: str
    fields: dict[str, str]
    context: dict[str, Any]
    replies: list[Reply]
    effects: list[Effect]


@dataclass(eq=False)  # identity equality: the machine finds its models with ==
class Turn:
    """One case as the machine sees it for one event; collects what to say and what to do."""

    state: State
    event: FlowEvent
    profile: Profile
    locale: str
    context: dict[str, Any]
    fields: dict[str, str]
    category: str | None = None
    origin: State = S.NEW  # the state before this event; `state` moves during the transition
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    _classification: classify.Classification | None = None

    # --- guards ---
    def asks_office_hours(self) -> bool:
        """A short question about when the desk works, and the profile keeps office hours."""
        return self.profile.office_hours is not None and guards.asks_office_hours(self.event.text)

    def has_story(self) -> bool:
        """Whether the message tells something about the problem (a caption counts).

        A caption that only points at its file ("ini screenshotnya kak") does not, and
        "Hello, can you help me?" opens the conversation; it is not the report, and neither
        is a button pressed on an old message ("yes", "rating:5").
        """
        if self.event.button:
            return False
        text = self.event.text
        story = guards.has_story(text, with_file=self.event.has_attachment)
        return story and not language.is_opening(text)

    def answers_faq_first(self) -> bool:
        """An FAQ question in the first message, answered before verification if allowed."""
        if not self.profile.faq_before_verification:
            return False
        return classify.classify(self.event.text, self.profile).faq is not None

    def asks_about_wait(self) -> bool:
        """Whether the queued client asks about the wait ("masih lama?", "how long")."""
        return waiting.asks_about_wait(self.event.text)

    def was_answered_first(self) -> bool:
        """Whether the FAQ answer came before the verification questions."""
        return bool(self.context.get("faq_first"))

    def has_new_troubleshooting(self) -> bool:
        """A fallback step the story now meets that the client was not given yet."""
        if not self.event.text.strip() or guards.is_yes(self.event.text):
            return False  # "udah bisa pake search by name" reports no new failure
        story = f"{self.context.get('story', '')}\n{self.event.text}".strip()
        step = classify.troubleshooting_for(story, self.profile)
        return step is not None and step.id not in self.context.get("advised", [])

    def has_attachment(self) -> bool:
        """Whether the client sent a photo, video, document or voice note."""
        return self.event.has_attachment

    def is_attachment_only(self) -> bool:
        """An attachment without text, while the bot waits for a typed answer."""
        return self.event.has_attachment and not self.event.text.strip()

    def looks_like_story(self) -> bool:
        """Whether an answer to a data question is really more of the chronology.

        Twice per question at most: after that the question is re-asked as a failure.
        """
        return int(self.context.get("noted", 0)) < 2 and guards.looks_like_story(self.event.text)

    def has_valid_answer(self) -> bool:
        """Whether the message answers the field being asked."""
        current = self._current_field()
        return current is not None and self._answer_for(current) is not None

    def has_told_story(self) -> bool:
        """Whether the chronology holds something already."""
        return bool(self.context.get("story"))

    def has_missing_field(self) -> bool:
        """Whether some verification field is still unanswered."""
        return self._current_field() is not None

    def has_known_to_confirm(self) -> bool:
        """Whether a returning client's older data waits to be confirmed (not yet asked)."""
        return not self.context.get("confirming") and any(
            key not in self.fields for key in self.context.get("known", {})
        )

    def is_confirming_known(self) -> bool:
        """Whether the bot just asked the client to confirm their older data."""
        return bool(self.context.get("confirming"))

    def is_data_confirmed(self) -> bool:
        """The client says the data kept from before still holds."""
        return guards.is_data_confirmed(self.event.text, self.event.button)

    def has_faq_answer(self) -> bool:
        """Whether the story is an Easy question the FAQ answers (and was not answered yet)."""
        return not self.context.get("faq_first") and self._classify().faq is not None

    def is_easy_case(self) -> bool:
        """Whether the case is classified Easy (its closing phrase differs)."""
        return (self.category or self._classify().category) == "easy"

    def is_small_talk(self) -> bool:
        """A greeting, thanks or emoji while the bot waits for the story (3 times at most)."""
        return (
            not self.event.has_attachment
            and int(self.context.get("small_talk", 0)) < _SMALL_TALK_LIMIT
            and guards.is_greeting_only(self.event.text)
        )

    def was_reassured(self) -> bool:
        """Whether the client already heard, in this stay in the queue, that it is queued."""
        return bool(self.context.get("reassured"))

    def is_last_failure(self) -> bool:
        """Whether this bad answer is the one that hands the case to a person."""
        return int(self.context.get("fails", 0)) + 1 >= self.profile.max_field_failures

    def is_yes(self) -> bool:
        """The client confirms."""
        return guards.is_yes(self.event.text, self.event.button)

    def is_no(self) -> bool:
        """The client says it is not solved."""
        return guards.is_no(self.event.text, self.event.button)

    def has_rating(self) -> bool:
        """A 1-5 rating."""
        return guards.rating_of(self.event.text, self.event.button) is not None

    def is_rating_button(self) -> bool:
        """One of the rating buttons was pressed (typed digits may be the comment)."""
        return (self.event.button or "").startswith("rating:") and self.has_rating()

    def is_skip(self) -> bool:
        """The client declines to comment."""
        return self.event.button == "skip" or guards.is_skip(self.event.text)

    # --- say_*: what to answer ---
    def say_salam(self) -> None:
        """Open with the standard greeting, answering a salam in kind."""
        salam = guards.is_salam(self.event.text)
        self._say(keys.GREETING_SALAM, desk_name=self.profile.desk_name, salam=salam)

    def say_office_hours(self) -> None:
        """When the team works, from the profile's office hours; then how to go on."""
        hours = self.profile.office_hours
        assert hours is not None  # guarded by asks_office_hours
        self._say(
            keys.OFFICE_HOURS_WEEK,
            week=hours.weekly(),
            zone=datetime.now(ZoneInfo(self.profile.timezone)).tzname(),
            holidays_closed=hours.public_holidays,
        )

    def say_welcome(self) -> None:
        """The profile's auto-text asking for detail and a screenshot or video."""
        self._say(keys.GREETING_WELCOME, welcome_text=self.profile.welcome.get(self.locale))

    def say_reask_story(self) -> None:
        """Ask again for the problem, or for text when a sticker came."""
        if self._is_unsupported():
            self._say(keys.VERIFICATION_TEXT_ONLY, label=self._label(None))
        else:
            self._say(keys.CHRONOLOGY_REASK)

    def say_media_received(self) -> None:
        """Thank for the attachment and ask for the story that goes with it."""
        self._say(keys.CHRONOLOGY_MEDIA_RECEIVED)

    def say_received(self) -> None:
        """The standard "laporan kakak telah kami terima" acknowledgement."""
        self._say(keys.CHRONOLOGY_RECEIVED)

    def say_troubleshooting(self) -> None:
        """The procedure's fallback when a product fails (Ctera: QR <-> Search by Name)."""
        step = classify.troubleshooting_for(self.context.get("story", ""), self.profile)
        if step is not None and step.id not in self.context.get("advised", []):
            self.context.setdefault("advised", []).append(step.id)
            self._say(keys.CHRONOLOGY_TROUBLESHOOTING, advice=step.advice.get(self.locale))

    def say_ask_field(self) -> None:
        """Ask for the next missing verification field."""
        current = self._current_field()
        assert current is not None  # guarded by has_missing_field
        self._say(keys.ask_field(current.key), label=current.label.get(self.locale))

    def say_confirm_known(self) -> None:
        """Show a returning client the data kept from before and ask if it still holds."""
        self.context["confirming"] = True
        labels = {f.key: f.label.get(self.locale) for f in self.profile.fields}
        items = [
            {"label": labels.get(key, key), "value": value}
            for key, value in self.context.get("known", {}).items()
            if key not in self.fields
        ]
        self._say(keys.VERIFICATION_CONFIRM_KNOWN, buttons=_YES_NO, items=items)

    def say_noted(self) -> None:
        """Take extra chronology gracefully (not a failure); `progress` asks again."""
        self._say(keys.VERIFICATION_NOTED)

    def say_media_noted(self) -> None:
        """Keep the attachment, and ask the field again."""
        self._say(keys.VERIFICATION_MEDIA_NOTED, label=self._label(self._current_field()))

    def say_reask_field(self) -> None:
        """Explain what a valid answer looks like."""
        current = self._current_field()
        if self._is_unsupported() or current is None:
            self._say(keys.VERIFICATION_TEXT_ONLY, label=self._label(current))
        else:
            self._say(keys.reask_field(current.kind), label=self._label(current))

    def say_verification_handoff(self) -> None:
        """Explain that a person will take over the verification."""
        self._say(keys.VERIFICATION_HANDOFF)

    def say_handover(self) -> None:
        """On a request for a person: the "checking your report" phrase only if one was given.

        After hours both give way to the phrase that says when the team is back.
        """
        if self._say_after_hours():
            return
        self._say(
            keys.QUEUE_PLEASE_WAIT if self.context.get("story") else keys.QUEUE_HUMAN_REQUESTED
        )

    def say_queue_position(self) -> None:
        """The client's place in the queue (the desk fills it in); after hours, when first."""
        self._say_after_hours()
        self._say(keys.QUEUE_POSITION)

    def say_please_wait(self) -> None:
        """The standard "mohon ditunggu" phrase on entering the queue (after hours: when)."""
        if not self._say_after_hours():
            self._say(keys.QUEUE_PLEASE_WAIT)

    def say_already_queued(self) -> None:
        """Reassure a client who writes while queued (after hours: say when the team is back)."""
        if not self._say_after_hours():
            self._say(keys.QUEUE_ALREADY_QUEUED)

    def _say_after_hours(self) -> bool:
        """Outside office hours, say when the team is back; whether it was said."""
        if self.event.reopening is None:
            return False
        self._say(keys.QUEUE_AFTER_HOURS, **asdict(self.event.reopening))
        return True

    def say_faq_answer(self) -> None:
        """Answer an Easy question from the profile's FAQ."""
        faq = self._classify().faq
        assert faq is not None  # guarded by has_faq_answer
        self._say(keys.SELF_SERVICE_FAQ_ANSWER, answer=faq.answer.get(self.locale))

    def say_ask_solved(self) -> None:
        """Ask whether the answer solved it."""
        self._say(keys.SELF_SERVICE_ASK_SOLVED, buttons=_YES_NO)

    def say_reask_solved(self) -> None:
        """Ask again for a yes or no."""
        self._say(keys.SELF_SERVICE_REASK_SOLVED, buttons=_YES_NO)

    def say_closing_easy(self) -> None:
        """The Easy closing phrase (also sent once a Normal/Hard case is confirmed)."""
        self._say(keys.CLOSING_EASY)

    def say_closing_normal_hard(self) -> None:
        """The Normal/Hard closing phrase, which asks the client to confirm."""
        self._say(keys.CLOSING_NORMAL_HARD, buttons=_YES_NO)

    def say_reask_confirm(self) -> None:
        """Ask again whether the fix works."""
        self._say(keys.CLOSING_REASK_CONFIRM, buttons=_YES_NO)

    def say_ask_rating(self) -> None:
        """The survey's 1-5 star question."""
        self.context["fails"] = 0
        self._say(keys.SURVEY_ASK_RATING, buttons=_RATING)

    def say_reask_rating(self) -> None:
        """Re-ask a rating as a number from 1 to 5."""
        self._say(keys.SURVEY_REASK_RATING, buttons=_RATING)

    def say_ask_comment(self) -> None:
        """The survey's optional comment box."""
        self._say(keys.SURVEY_ASK_COMMENT, buttons=(Button("skip", label_key=keys.BUTTON_SKIP),))

    def say_survey_thanks(self) -> None:
        """Thank the client at the very end."""
        self._say(keys.SURVEY_THANKS)

    def say_handed_back(self) -> None:
        """Tell the client the bot continues the procedure for the agent."""
        self._say(keys.AGENT_HANDED_BACK)

    def say_escalation_checking(self) -> None:
        """The standard "sedang kami cek" phrase when the report goes to the developers."""
        self._say(keys.ESCALATION_CHECKING, client_name=self.client_name())

    def say_escalation_fixed(self) -> None:
        """The standard "sudah kami sesuaikan" phrase once the agent verified the fix."""
        self._say(keys.ESCALATION_FIXED, client_name=self.client_name())

    def say_cancelled(self) -> None:
        """Confirm politely that the case is called off."""
        self._say(keys.CANCEL_DONE)

    # --- mark_* and other effects ---
    def note_story(self) -> None:
        """Add the message to the chronology and prefill fields the client already gave."""
        text = self.event.text.strip()
        if self.origin in (S.NEW, S.CHRONOLOGY):
            self.context["fails"] = 0  # re-asks for the story do not count against verification
        elif self.origin is S.VERIFICATION:
            self.context["noted"] = int(self.context.get("noted", 0)) + 1
        if text:
            story = f"{self.context.get('story', '')}\n{text}".strip()
            self.context["story"] = story[-_STORY_LIMIT:]
            self._classification = None
        self._prefill(text)

    def note_faq_first(self) -> None:
        """Remember the FAQ was answered before verification: a "no" verifies, then queues."""
        self.context["faq_first"] = True

    def note_request_story(self) -> None:
        """A request for a person that tells the problem too keeps the story."""
        if len(guards.words(self.event.text)) > _REQUEST_ONLY_WORDS:
            self.note_story()

    def _prefill(self, text: str) -> None:
        """Fields the client gave without being asked ("... domainnya toko.erzap.id")."""
        for candidate in self.profile.fields:
            if candidate.key in self.fields or candidate.extract is None:
                continue
            found = _search(candidate.extract, text)
            value = self._validate(candidate, found) if found else None
            if value is not None:
                self.fields[candidate.key] = value

    def store_answer(self) -> None:
        """Keep the answer of the field being asked; reset the failure count."""
        current = self._current_field()
        assert current is not None  # guarded by has_valid_answer
        value = self._answer_for(current)
        assert value is not None
        self.fields[current.key] = value
        self.context["fails"] = self.context["noted"] = 0
        self._prefill(self.event.text)

    def adopt_known(self) -> None:
        """The client confirmed their older data: it stands for this case."""
        for key, value in self.context.pop("known", {}).items():
            self.fields.setdefault(key, value)
        self.context.pop("confirming", None)

    def drop_known(self) -> None:
        """The client did not confirm: every field is asked afresh."""
        self.context.pop("known", None)
        self.context.pop("confirming", None)

    def note_small_talk(self) -> None:
        """Count small talk apart from failed answers: "P", "kak", "halo 🙏" hand nothing off."""
        self.context["small_talk"] = int(self.context.get("small_talk", 0)) + 1

    def note_reassured(self) -> None:
        """Remember the queue reassurance, so a chatty client is not answered every time."""
        self.context["reassured"] = True

    def count_failure(self) -> None:
        """One more unusable answer to the same question."""
        self.context["fails"] = int(self.context.get("fails", 0)) + 1

    def progress(self) -> None:
        """Let the machine decide the next step once this transition is done."""
        self.pending.append("progressed")

    def mark_category(self) -> None:
        """Record Easy/Normal/Hard and its SLA, from the chronology."""
        if self.category is None and self.context.get("story"):
            found = self._classify()
            self.category = found.category
            self.effects.append(SetCategory(found.category, found.sla_minutes))

    def mark_recategorised(self) -> None:
        """The story grew (a second product failed): its category and SLA follow."""
        self._classification = None
        found = self._classify()
        if self.category is not None and found.category != self.category:
            self.category = found.category
            self.effects.append(SetCategory(found.category, found.sla_minutes))

    def mark_queued(self) -> None:
        """Hand the case to the agent queue, saying why."""
        self.context["fails"] = 0
        self.context["reassured"] = False
        reason = self._queue_reason()
        self.effects.append(QueueCase(reason=reason))
        if reason == "classified" and self.profile.routing is not None:  # #17: Operations
            found = routing.suggest(self.context.get("story", ""), self.profile.routing)
            self.effects.append(RouteCase(found.route, found.text()))
        else:  # Operations decides first: no place in the agents' queue yet
            self._say(keys.QUEUE_POSITION)  # once on entering the queue

    def record_rating(self) -> None:
        """Store the 1-5 rating."""
        self.effects.append(
            RecordSurvey(rating=guards.rating_of(self.event.text, self.event.button))
        )

    def record_comment(self) -> None:
        """Store the survey comment."""
        self.effects.append(RecordSurvey(comment=self.event.text.strip()))

    def mark_resolved(self) -> None:
        """The client says the bot's answer solved it: the resolution clock stops."""
        self.effects.append(ResolveCase(by="client"))

    def mark_returned(self) -> None:
        """The bot takes the case back: failures counted before do not hand it off again."""
        self.context["fails"] = self.context["noted"] = 0

    def mark_closed_by_silence(self) -> None:
        """Remember the client never confirmed: the case closed after the silence timeout."""
        self.context["resolution"] = "silence"

    def mark_closed(self) -> None:
        """Close the case as resolved, by the client's confirmation or by silence."""
        by = "timer" if self.event.trigger == "timer_expired" else "client"
        reason = "resolved_no_reply" if self.context.get("resolution") == "silence" else "resolved"
        self.effects.append(CloseCase(reason=reason, by=by))

    def mark_cancelled(self) -> None:
        """Close the case as called off by the client."""
        self.effects.append(CloseCase(reason="cancelled_by_client", by="client"))

    # --- helpers ---
    def client_name(self) -> str:
        """The client's verified name (or identity), for phrases that greet them; may be ''."""
        return self.fields.get("name") or self.fields.get("identity") or ""

    def _say(self, key: str, buttons: tuple[Button, ...] = (), **variables: object) -> None:
        self.replies.append(Reply(key, variables, buttons))

    def _current_field(self) -> VerificationField | None:
        return next(
            (f for f in self.profile.fields if f.required and f.key not in self.fields), None
        )

    def _label(self, current: VerificationField | None) -> str:
        return current.label.get(self.locale) if current is not None else ""

    def _is_unsupported(self) -> bool:
        return self.event.kind in {"sticker", "other"}

    def _answer_for(self, current: VerificationField) -> str | None:
        if self._is_unsupported():
            return None
        return self._validate(current, self.event.text)

    def _validate(self, current: VerificationField, text: str) -> str | None:
        event = self.event
        match current.kind:
            case "name":
                return extract.person_name(text)
            case "phone":
                return guards.clean_phone(event.contact_phone or text)
            case "location":
                if event.location is not None:
                    return f"{event.location[0]:.6f},{event.location[1]:.6f}"
                return guards.clean_text(text)
            case "proof":
                if event.has_attachment and not text.strip():
                    return f"attachment:{event.kind}"
                return guards.clean_reference(text)
            case "description":
                told = guards.clean_description(text)
                return extract.labelled_value(told) if told is not None else None
            case _:
                value = guards.clean_text(text)
                return extract.labelled_value(value) if value is not None else None

    def _classify(self) -> classify.Classification:
        if self._classification is None:
            self._classification = classify.classify(self.context.get("story", ""), self.profile)
        return self._classification

    def _queue_reason(self) -> str:
        if self.event.trigger == "client_asked_for_human":
            return "client_asked"
        if self.origin is S.CHRONOLOGY and self.event.trigger == "client_wrote":
            return "no_story"
        if self.origin is S.VERIFICATION and self._current_field() is not None:
            return "verification_failed"
        return {
            S.SELF_SERVICE: "faq_not_enough",
            S.AWAITING_CONFIRMATION: "not_solved",
        }.get(self.origin, "classified")


def _search(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(0).strip() if found else None


MACHINE = Machine(
    model=None,
    states=State,
    transitions=TRANSITIONS,
    initial=State.NEW,
    auto_transitions=False,
    send_event=False,
)


def client_trigger(state: State, event: FlowEvent) -> Trigger:
    """Which trigger a client message fires: cancel and "human please" win, except in comments."""
    if event.trigger != "client_wrote" or state is S.SURVEY_COMMENT or event.button:
        return event.trigger
    if guards.is_cancel(event.text):
        return "client_cancelled"
    if people.is_human_request(event.text):
        return "client_asked_for_human"
    return "client_wrote"


def step(
    state: State,
    event: FlowEvent,
    profile: Profile,
    *,
    locale: str,
    context: dict[str, Any],
    fields: dict[str, str],
    category: str | None = None,
) -> Outcome:
    """Run one event through the flow. Pure: no database, no I/O, so unit tests need neither."""
    trigger = client_trigger(state, event)
    event = replace(event, trigger=trigger)
    if trigger == "client_wrote" and state is not S.SURVEY_COMMENT and event.text:
        locale = language.detect(event.text) or locale
    fresh = Turn(state, event, profile, locale, dict(context), dict(fields), category, state)
    turn = _IDLE_TURNS.pop() if _IDLE_TURNS else _bind(fresh)
    vars(turn).update(vars(fresh))  # every field anew; the machine's trigger methods stay
    try:
        getattr(turn, trigger)()
        while turn.pending:
            getattr(turn, turn.pending.pop(0))()
        return Outcome(
            turn.state, turn.locale, turn.fields, turn.context, turn.replies, turn.effects
        )
    finally:
        _IDLE_TURNS.append(turn)


# Turns bound to MACHINE and free for the next event. add_model + remove_model cost about
# 90 µs a message (docs/decisions/0004-one-transitions-machine.md), and transitions 0.9.3's
# remove_model leaves working trigger methods on the object, so a removed Turn must not be
# reused as if unbound. A Turn is bound once and reloaded per event instead; there are as
# many as steps ever ran at the same time.
_IDLE_TURNS: list[Turn] = []


def _bind(turn: Turn) -> Turn:
    MACHINE.add_model(turn, initial=turn.state)
    return turn
