"""receive(): the one path every inbound message takes, in one database transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from chatbot.clock import Clock
from chatbot.domain import Inbound
from chatbot.overrides import Overrides
from chatbot.phrases import PhraseBook
from db import queries
from db.engine import as_utc
from flows import guards
from flows import phrase_keys as keys
from flows.events import (
    CloseCase,
    Effect,
    FlowEvent,
    QueueCase,
    RecordSurvey,
    Reply,
    ResolveCase,
    SetCategory,
)
from flows.front_desk import State, step
from flows.profiles.schema import Profile, ProfileError

logger = logging.getLogger(__name__)

ReceiptStatus = Literal["answered", "duplicate", "recorded"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one inbound message."""

    status: ReceiptStatus
    case_id: int | None = None
    replies: list[str] = field(default_factory=list)


class Desk:
    """The front desk: records each message, runs the case's flow, writes replies to the outbox."""

    def __init__(
        self,
        engine: Engine,
        phrases: PhraseBook,
        profiles: dict[str, Profile],
        default_profile: str,
        clock: Clock,
        default_locale: str = "id",
        overrides: Overrides | None = None,
    ) -> None:
        if default_profile not in profiles:
            raise ProfileError(
                f"profile '{default_profile}' not found; known: {', '.join(sorted(profiles))}"
            )
        for profile in profiles.values():
            for datum in profile.fields:
                if not phrases.has(keys.ask_field(datum.key), "id"):
                    raise ProfileError(
                        f"profile '{profile.name}': field '{datum.key}' has no phrase "
                        f"'{keys.ask_field(datum.key)}' in scripts_text/id"
                    )
        self._engine = engine
        self._phrases = phrases
        self._profiles = profiles
        self._default_profile = default_profile
        self._clock = clock
        self._default_locale = default_locale
        self._overrides = overrides

    @property
    def phrases(self) -> PhraseBook:
        """The phrase book replies are rendered with (the admin editor previews with it)."""
        return self._phrases

    @property
    def profiles(self) -> dict[str, Profile]:
        """The profiles as their files define them, by name."""
        return dict(self._profiles)

    def profile(self, name: str | None = None) -> Profile:
        """A profile (the default one without a name) with admin settings in force."""
        chosen = name if name is not None and name in self._profiles else self._default_profile
        edited = self._overrides.profile(chosen) if self._overrides else None
        return edited or self._profiles[chosen]

    @property
    def desk_name(self) -> str:
        """The name clients see for this desk (e.g. HaloERZAP)."""
        return self._profiles[self._default_profile].desk_name

    def receive(self, inbound: Inbound) -> Receipt:
        """Record the message and answer it in one transaction; a repeated message changes nothing.

        Raises:
            sqlalchemy.exc.OperationalError: the database is unreachable; the channel
                must not acknowledge, so the provider delivers the message again.
        """
        try:
            with self._engine.begin() as conn:
                return self._receive(conn, inbound)
        except IntegrityError:
            # A replayed message hit the UNIQUE key, or two first messages of one chat both
            # opened a case (PostgreSQL): look again, in a new transaction.
            with self._engine.begin() as conn:
                if queries.message_exists(
                    conn, channel=inbound.channel, external_id=inbound.message_id
                ):
                    return Receipt("duplicate")
                return self._receive(conn, inbound)

    def receive_many(self, inbounds: list[Inbound]) -> list[Receipt | Exception]:
        """Receive several messages in one transaction (group commit), each its own step.

        When the batch fails (a replay hit the UNIQUE key, a message's step raised, the
        database refused), it is rolled back and every message is received again on its
        own, so a duplicate is still answered "duplicate" and only the failing message
        fails. Each outcome is the Receipt or the exception `receive` raised.
        """
        if len(inbounds) > 1:
            try:
                with self._engine.begin() as conn:
                    return [self._receive(conn, inbound) for inbound in inbounds]
            except Exception:  # noqa: S110  # redone one by one just below
                pass
        outcomes: list[Receipt | Exception] = []
        for inbound in inbounds:
            try:
                outcomes.append(self.receive(inbound))
            except Exception as exc:  # handed to that message's request
                outcomes.append(exc)
        return outcomes

    def _receive(self, conn: Connection, inbound: Inbound) -> Receipt:
        if self._overrides is not None:  # an admin edit counts from the next message on
            self._overrides.refresh(conn)
        # No look-up for duplicates first: the UNIQUE (channel, external_id) key rejects a
        # replay when its message row is inserted, and receive() answers "duplicate" then.
        now = self._clock.now()
        text = guards.mask_secrets(inbound.text)
        case = queries.get_open_case(
            conn, channel=inbound.channel, chat_id=inbound.chat_id, lock=True
        )
        # "batal" or "makasih kak" after the case closed: answer on it, open nothing new.
        after_close = None
        if case is None and guards.is_cancel(text):
            after_close = keys.CANCEL_NOTHING_OPEN
        elif case is None and guards.is_thanks_only(text):
            after_close = keys.CLOSING_YOU_ARE_WELCOME
        if after_close is not None:
            last_id = queries.get_last_case_id(
                conn, channel=inbound.channel, chat_id=inbound.chat_id
            )
            if last_id is not None:
                self._record_inbound(conn, last_id, inbound, text, now)
                locale = guards.detect_language(text) or self._default_locale
                sent = self._say(conn, last_id, inbound, [Reply(after_close)], locale)
                return Receipt("answered", last_id, sent)
        if case is None:
            profile = self.profile()
            contact_id = queries.ensure_contact(
                conn,
                channel=inbound.channel,
                chat_id=inbound.chat_id,
                name=inbound.sender_name,
                phone=inbound.phone,
                now=now,
            )
            case = queries.open_case(
                conn,
                contact_id=contact_id,
                channel=inbound.channel,
                chat_id=inbound.chat_id,
                profile=profile.name,
                locale=profile.locale,
                state=State.NEW.value,
                now=now,
            )
        self._record_inbound(conn, case.id, inbound, text, now)
        if inbound.edited:  # an edit is kept in the transcript, never replayed into the flow
            return Receipt("recorded", case.id)

        profile = self.profile(case.profile)
        event = FlowEvent(
            "client_wrote",
            text=text,
            kind=inbound.kind,
            button=inbound.button,
            has_attachment=bool(inbound.attachments),
            location=inbound.location,
            contact_phone=inbound.contact_phone,
        )
        turn = step(
            State[case.state.upper()],
            event,
            profile,
            locale=case.locale,
            context=case.context,
            fields=case.fields,
            category=case.category,
        )
        queries.record_step(
            conn,
            case_id=case.id,
            state=turn.state.value,
            locale=turn.locale,
            now=now,
            fields_json=json.dumps(turn.fields, ensure_ascii=False),
            context_json=json.dumps(turn.context, ensure_ascii=False),
        )
        if turn.effects:
            self.apply_effects(conn, case.id, case.opened_at, turn.effects, now)
        sent = self._say(conn, case.id, inbound, turn.replies, turn.locale)
        if turn.state.value != case.state:
            logger.debug("Case %s moved from %s to %s.", case.id, case.state, turn.state.value)
        return Receipt("answered", case.id, sent)

    def _record_inbound(
        self, conn: Connection, case_id: int, inbound: Inbound, text: str, now: Any
    ) -> None:
        message_id = queries.record_message(
            conn,
            case_id=case_id,
            channel=inbound.channel,
            chat_id=inbound.chat_id,
            direction="in",
            text=text,
            now=now,
            external_id=inbound.message_id,
            kind=inbound.kind,
        )
        for item in inbound.attachments:
            queries.record_attachment(
                conn,
                case_id=case_id,
                message_id=message_id,
                kind=item.kind,
                now=now,
                url=item.url,
                file_id=item.file_id,
                content_type=item.content_type,
                filename=item.filename,
                size=item.size,
                stored_path=item.stored_path,
            )

    def apply_effects(
        self,
        conn: Connection,
        case_id: int,
        opened_at: datetime | None,
        effects: list[Effect],
        now: datetime,
        *,
        actor: str = "bot",
    ) -> None:
        """Store what a flow step decided, with the case clocks and the event log.

        One UPDATE of the case and at most one INSERT of events: this runs on the receive
        path. `actor` is who caused the step ("bot" for the client's messages, an agent's
        name, or "timer").
        """
        values: dict[str, Any] = {}
        events: list[queries.EventRow] = []
        for effect in effects:
            match effect:
                case SetCategory(category=category, sla_minutes=sla):
                    values.update(category=category, sla_minutes=sla)
                    start = as_utc(opened_at)
                    if start is not None:
                        values["sla_due_at"] = start + timedelta(minutes=sla)
                    events.append(queries.EventRow("category_set", actor, category))
                case QueueCase(reason=reason):
                    values["queued_at"] = values["handed_off_at"] = now  # the first hand-off stays
                    if reason == "not_solved":  # the client said the resolution did not work
                        events.append(queries.EventRow("reopened", "client"))
                        queries.release_case(conn, case_id=case_id)
                    events.append(queries.EventRow("queued", actor, reason))
                    logger.info("Case %s queued for an agent (%s).", case_id, reason)
                case ResolveCase(by=by):
                    values.update(resolved_at=now, resolved_by=by)
                    events.append(queries.EventRow("resolved", by))
                case RecordSurvey(rating=rating, comment=comment):
                    queries.record_survey(
                        conn, case_id=case_id, rating=rating, comment=comment, now=now
                    )
                case CloseCase(reason=reason, by=by):
                    values.update(closed_at=now, closed_reason=reason, closed_by=by)
                    events.append(queries.EventRow("closed", by, reason))
        if values:
            queries.record_effects(conn, case_id=case_id, values=values)
        queries.record_events(conn, case_id=case_id, events=events, now=now)

    def render_replies(
        self, replies: list[Reply], locale: str, *, author: str = "bot"
    ) -> list[queries.OutboundRow]:
        """Phrase keys and variables as outbox rows: text and button labels rendered."""
        return [
            queries.OutboundRow(
                text=self._phrases.render(reply.key, locale, reply.variables),
                phrase_key=reply.key,
                buttons=[
                    {
                        "payload": b.payload,
                        "label": (
                            self._phrases.render(b.label_key, locale, {})
                            if b.label_key
                            else b.label
                        ),
                    }
                    for b in reply.buttons
                ]
                or None,
                author=author,
            )
            for reply in replies
        ]

    def _say(
        self, conn: Connection, case_id: int, inbound: Inbound, replies: list[Reply], locale: str
    ) -> list[str]:
        rows = self.render_replies(replies, locale)
        queries.enqueue_replies(
            conn,
            case_id=case_id,
            channel=inbound.channel,
            chat_id=inbound.chat_id,
            replies=rows,
            now=self._clock.now(),
        )
        return [row.text for row in rows]
