"""The step service: the only code that steps a case and stores what the step decided.

Client messages (accepted into the inbox, then stepped per chat in order), agent actions
and timers all step cases here, in `Desk.transaction()`, which brings the admin's phrase
and profile edits in force first. See docs/architecture.md for the path of one message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, RowMapping
from transitions import MachineError

from chatbot.campaigns import consent, replies
from chatbot.clock import Clock
from chatbot.domain import Inbound
from chatbot.errors import CaseMovedOn
from chatbot.frontdesk import contacts, office_hours
from chatbot.frontdesk.overrides import Overrides
from chatbot.frontdesk.phrases import PhraseBook
from db import inbox_queries as iq
from db import queries
from db import visit_queries as vq
from db.engine import as_utc, read
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
    RouteCase,
    SetCategory,
    Trigger,
)
from flows.front_desk import Outcome, State, step
from flows.profiles.schema import Profile, ProfileError

logger = logging.getLogger(__name__)

MANUAL_CHANNEL = "manual"  # cases opened by hand without a contact: replies are only recorded
STEP_BATCH_CHATS = 32  # chats stepped per transaction at most: fewer commits...
STEP_BATCH_SECONDS = 0.005  # ...and no more chats once this long: webhooks wait for the lock
STEP_BATCH_SECONDS_POSTGRES = 0.05  # ...where the worker's sends wait for its loop (db/turns.py)
MAX_STEP_ATTEMPTS = 3  # a message whose step keeps raising is set aside after this many

ReceiptStatus = Literal["answered", "duplicate", "recorded"]


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of one inbound message."""

    status: ReceiptStatus
    case_id: int | None = None
    replies: list[str] = field(default_factory=list)


def next_claim_size(claimed: int, reached: int, cut_short: bool, most: int) -> int:
    """How many chats the next batch claims: about what the last one reached in its time.

    A chat claimed but not reached was read for nothing, and on PostgreSQL locked away from
    the other steppers: a batch cut short after `reached` chats makes the next claim one
    more than that, and a batch that stepped all it claimed doubles it, up to `most`.
    """
    if cut_short:
        return max(1, min(most, reached + 1))
    return min(most, claimed * 2)


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
        self._cut_short = False  # the last step_pending stopped at its deadline
        self._claim_size = STEP_BATCH_CHATS  # chats the next batch claims: what fits its time
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

    def warm_up(self) -> None:
        """Load, before the first message, what the first step would otherwise load.

        The holiday rules (office_hours) are imported at first use, so a web worker never
        holds them; a stepper takes them at its start, not on a client's first message.
        """
        today = self._clock.now().date()
        for name in self._profiles:
            office_hours.holiday_name(self.profile(name), today)

    @property
    def desk_name(self) -> str:
        """The name clients see for this desk (e.g. HaloERZAP)."""
        return self._profiles[self._default_profile].desk_name

    def load_overrides(self) -> None:
        """Bring the admin's latest phrases and settings in force now, between steps.

        For previews (the FAQ form): steps load them themselves in `transaction`.
        """
        if self._overrides is not None:
            with read(self._engine) as conn:
                self._overrides.refresh(conn)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction with the admin's phrases and profile settings in force.

        Every step (client message, agent action, timer) runs in one of these, so an edit
        saved in /admin counts from the next step on every worker, whoever causes it.
        """
        with self._engine.begin() as conn:
            if self._overrides is not None:
                self._overrides.refresh(conn)
            yield conn

    def accept(self, inbounds: list[Inbound]) -> list[bool]:
        """Store messages in the inbox (one transaction); False for a re-delivered one.

        This is all that runs while a provider waits for its answer: once it returns, the
        messages are durable and a stepper takes them from there.

        Raises:
            sqlalchemy.exc.OperationalError: the database is unreachable; the channel must
                not acknowledge, so the provider delivers the messages again.
        """
        # An OTP or password pasted into the chat is masked before anything stores it.
        rows = [
            iq.InboxRow(
                i.channel,
                i.chat_id,
                i.message_id,
                i.to_json(text=guards.mask_secrets(i.text)),
            )
            for i in inbounds
        ]
        with self._engine.begin() as conn:
            return iq.record_inbound(conn, rows=rows, now=self._clock.now())

    def chat_history(self, channel: str, chat_id: str, after_id: int = 0) -> list[dict[str, Any]]:
        """A chat's messages newer than `after_id`, bot and client, as the web chat shows them.

        A read: the chat page and its event stream's polls never queue behind webhook writes.
        """
        with read(self._engine) as conn:
            rows = queries.list_chat_messages_after(
                conn, channel=channel, chat_id=chat_id, after_id=after_id
            )
        return [
            {
                "id": r["id"],
                "direction": r["direction"],
                "text": r["text"],
                "buttons": json.loads(r["buttons_json"] or "[]"),
            }
            for r in rows
        ]

    def health_check(self) -> None:
        """Write one row, proving the database accepts writes (the /healthz check).

        Raises:
            sqlalchemy.exc.OperationalError: the database refused the write.
        """
        with self._engine.begin() as conn:
            queries.record_health_check(conn)

    def receive(self, inbound: Inbound) -> Receipt:
        """Accept one message and step its chat at once (`loket chat`, tests).

        The same inbox and the same steps as the workers', only without waiting for one.
        """
        if not self.accept([inbound])[0]:
            return Receipt("duplicate")
        with self.transaction() as conn:
            key = iq.chat_key_of(conn, channel=inbound.channel, chat_id=inbound.chat_id)
            assert key is not None  # accept() numbered the chat
            iq.lock_chat(conn, chat_key=key)  # a stepper beside us may hold it: wait
            waiting = iq.list_unstepped(conn, chat_key=key)
            receipt = self._step_chat(conn, waiting).get(inbound.message_id)
            if receipt is None:  # a stepper running beside us took it first: it is stepped
                case_id = queries.get_last_case_id(
                    conn, channel=inbound.channel, chat_id=inbound.chat_id
                )
                replies = queries.list_replies_to(
                    conn,
                    channel=inbound.channel,
                    chat_id=inbound.chat_id,
                    external_id=inbound.message_id,
                )
                receipt = Receipt("answered", case_id, replies)
        return receipt

    def step_pending(self, *, chats: int = STEP_BATCH_CHATS, whole: bool = False) -> int:
        """Step up to `chats` waiting chats in one transaction; returns messages stepped.

        A batch stops between two messages once its time is up, unless `whole` (tests that
        count the steps). On SQLite the transaction holds the database's one write lock,
        which webhooks need to accept messages: STEP_BATCH_SECONDS. PostgreSQL locks only
        the chats' rows, and a transaction there costs round trips, so its batches run
        longer (STEP_BATCH_SECONDS_POSTGRES): only the worker's own sends wait for them,
        since its transactions run on its event loop. A batch claims about as many chats as
        the last one reached in its time (`next_claim_size`), not `chats` every time.

        Each chat's messages are stepped in the order they were accepted, and marked
        stepped with their effects and replies: a crash before the commit leaves them all
        waiting, so they are stepped again, once.
        """
        if not self._cut_short:  # else the last batch left work behind: no need to look
            with read(self._engine) as conn:  # a read: an idle stepper takes no write lock
                if not iq.has_unstepped(conn):
                    return 0
        self._cut_short = False
        with self.transaction() as conn:
            sqlite = conn.dialect.name == "sqlite"
            seconds = STEP_BATCH_SECONDS if sqlite else STEP_BATCH_SECONDS_POSTGRES
            deadline = None if whole else time.perf_counter() + seconds
            limit = chats if whole else min(chats, self._claim_size)
            stepped = reached = 0
            for _key, waiting in iq.claim(conn, limit=limit):
                stepped += len(self._step_chat(conn, waiting, deadline=deadline))
                reached += 1
                if deadline is not None and time.perf_counter() > deadline:
                    self._cut_short = True  # what is left waits for the next call, in order
                    break
        self._claim_size = next_claim_size(self._claim_size, reached, self._cut_short, chats)
        return stepped

    def _step_chat(
        self, conn: Connection, waiting: list[iq.Waiting], *, deadline: float | None = None
    ) -> dict[str, Receipt]:
        """Step a chat's waiting messages in order; a failing message holds the rest.

        The messages are stepped under one savepoint and marked stepped together. Should
        one raise, the savepoint undoes them all and they are stepped again one savepoint
        each, so the failing message is found, counted and held with the ones behind it.
        With a `deadline` (a perf_counter time), the messages left when it passes stay
        waiting: the next claim of the chat starts with them.
        """
        savepoint = iq.open_savepoint(conn)  # sent with the step's first read
        receipts: dict[str, Receipt] = {}
        stepped: list[int] = []
        try:
            for inbox_id, payload, _attempts in waiting:
                inbound = Inbound.from_json(payload)
                receipts[inbound.message_id] = self._receive(conn, inbound)
                stepped.append(inbox_id)
                if deadline is not None and time.perf_counter() > deadline:
                    break
            # not deferred: the steps' deferred writes go with it, and fail here if they do
            iq.mark_stepped_many(conn, inbox_ids=stepped, now=self._clock.now())
        except Exception:
            iq.undo_savepoint(conn, savepoint)
            return self._step_one_at_a_time(conn, waiting, deadline)
        iq.RELEASE.defer(conn)
        return receipts

    def _step_one_at_a_time(
        self, conn: Connection, waiting: list[iq.Waiting], deadline: float | None
    ) -> dict[str, Receipt]:
        """A chat with a failing message: each step under its own savepoint."""
        receipts: dict[str, Receipt] = {}
        for inbox_id, payload, attempts in waiting:
            savepoint = iq.open_savepoint(conn)  # a failing step undoes only itself
            try:
                inbound = Inbound.from_json(payload)
                receipt = self._receive(conn, inbound)
                # with the step's deferred writes: one the database refuses raises here
                iq.mark_stepped_many(conn, inbox_ids=[inbox_id], now=self._clock.now())
                receipts[inbound.message_id] = receipt
            except Exception as exc:
                iq.undo_savepoint(conn, savepoint)
                logger.exception("Stepping inbox message %s raised.", inbox_id)
                if attempts + 1 >= MAX_STEP_ATTEMPTS:  # set aside, kept, logged
                    iq.set_aside(conn, inbox_id=inbox_id, now=self._clock.now(), error=repr(exc))
                    continue
                iq.record_step_failure(conn, inbox_id=inbox_id, error=repr(exc))
                break  # the chat's later messages wait behind this one: order first
            iq.RELEASE.defer(conn)
            if deadline is not None and time.perf_counter() > deadline:
                break
        return receipts

    def _receive(self, conn: Connection, inbound: Inbound) -> Receipt:
        # Re-deliveries stopped at the inbox; one stepper holds this chat, so nobody else
        # opens its case meanwhile.
        now = self._clock.now()
        text = inbound.text  # secrets were masked when the message was accepted
        case = queries.get_open_case(
            conn, channel=inbound.channel, chat_id=inbound.chat_id, lock=True
        )
        # BERHENTI / STOP / MULAI on any channel: the opt-out register, answered, no flow step.
        consent_key = consent.apply(
            conn, channel=inbound.channel, chat_id=inbound.chat_id, text=text, now=now
        )
        if consent_key is not None:
            return self._answer_consent(conn, case, inbound, text, consent_key, now)
        # A campaign recipient writing back opens a case on the campaign's caring flow.
        link = None
        if case is None:
            link = replies.campaign_for_reply(
                conn, channel=inbound.channel, chat_id=inbound.chat_id, now=now
            )
        if case is None and link is None and inbound.edited:
            # An edit with no case open belongs to the last one; with no case ever, the
            # client's edited text is all we have of it, so it is read as a new message.
            last_id = queries.get_last_case_id(
                conn, channel=inbound.channel, chat_id=inbound.chat_id
            )
            if last_id is not None:
                self._record_inbound(conn, last_id, inbound, text, now)
                return Receipt("recorded", last_id)
            inbound = replace(inbound, edited=False)
        # "batal" or "makasih kak" after the case closed: answer on it, open nothing new.
        after_close = None
        if case is None and link is None and guards.is_cancel(text):
            after_close = keys.CANCEL_NOTHING_OPEN
        elif case is None and link is None and guards.is_thanks_only(text):
            after_close = keys.CLOSING_YOU_ARE_WELCOME
        elif case is None and link is None and (inbound.button or "").startswith("rating:"):
            after_close = keys.CLOSING_YOU_ARE_WELCOME  # a late tap on the closed survey
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
            profile = self.profile(link["profile"] if link is not None else None)
            case, contact_id = self._open_case(conn, inbound, profile, State.NEW, now)
            # A returning client: what they verified before stands (or is confirmed).
            known, context = contacts.prefill(
                conn, contact_id=contact_id, profile=profile, now=now
            )
            if known or context:
                case = replace(case, fields=known, context=context)
            if link is not None:
                replies.tie_case(conn, link=link, case_id=case.id, now=now)
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
            reopening=office_hours.reopening(profile, now),
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
        # WhatsApp and SMS numbers are kept when the contact is made; a Telegram client's
        # own number arrives when they share their contact.
        own_phone = inbound.phone if inbound.kind == "contact" else None
        if turn.fields != case.fields or own_phone:
            contacts.remember(
                conn,
                channel=inbound.channel,
                chat_id=inbound.chat_id,
                case_id=case.id,
                profile=profile,
                before=case.fields,
                after=turn.fields,
                own_phone=own_phone,
                now=now,
            )
        if turn.effects:
            self.apply_effects(conn, case.id, case.opened_at, turn.effects, now, profile=profile)
        answers = self._with_queue_position(conn, case.id, turn.replies)
        sent = self._say(conn, case.id, inbound, answers, turn.locale)
        if turn.state.value != case.state:
            logger.debug("Case %s moved from %s to %s.", case.id, case.state, turn.state.value)
        return Receipt("answered", case.id, sent)

    def _answer_consent(
        self,
        conn: Connection,
        case: Any,
        inbound: Inbound,
        text: str,
        key: str,
        now: datetime,
    ) -> Receipt:
        """Confirm an opt-out or opt-in on the chat's case (a new chat gets a closed one)."""
        case_id = case.id if case is not None else None
        if case_id is None:
            case_id = queries.get_last_case_id(
                conn, channel=inbound.channel, chat_id=inbound.chat_id
            )
        if case_id is None:  # a first message: the reply needs a case to belong to
            case_id = self._open_case(conn, inbound, self.profile(), State.CLOSED, now)[0].id
            queries.record_effects(
                conn,
                case_id=case_id,
                values={"closed_at": now, "closed_reason": "opt_out", "closed_by": "bot"},
            )
        self._record_inbound(conn, case_id, inbound, text, now)
        kind = "opted_out" if key == consent.OPT_OUT_KEY else "opted_in"
        queries.record_events(
            conn, case_id=case_id, events=[queries.EventRow(kind, "client", text[:64])], now=now
        )
        locale = guards.detect_language(text) or self._default_locale
        sent = self._say(conn, case_id, inbound, [Reply(key)], locale)
        return Receipt("answered", case_id, sent)

    def _open_case(
        self, conn: Connection, inbound: Inbound, profile: Profile, state: State, now: Any
    ) -> tuple[queries.CaseRow, int]:
        """A new case for the message's chat and its contact's id (made on first contact)."""
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
            state=state.value,
            now=now,
        )
        return case, contact_id

    def _record_inbound(
        self, conn: Connection, case_id: int, inbound: Inbound, text: str, now: Any
    ) -> None:
        text = _with_place(text, inbound)
        if not inbound.attachments:  # nothing refers to the row: it goes with the next write
            queries.add_client_message(
                conn,
                case_id=case_id,
                channel=inbound.channel,
                chat_id=inbound.chat_id,
                text=text,
                now=now,
                external_id=inbound.message_id,
                kind=inbound.kind,
            )
            return
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
        profile: Profile | None = None,
    ) -> None:
        """Store what a flow step decided, with the case clocks and the event log.

        One UPDATE of the case and at most one INSERT of events: this runs on the receive
        path. `actor` is who caused the step ("bot" for the client's messages, an agent's
        name, or "timer"); `profile` (the default one when None) sets the SLA clock.
        """
        values: dict[str, Any] = {}
        events: list[queries.EventRow] = []
        for effect in effects:
            match effect:
                case SetCategory(category=category, sla_minutes=sla):
                    values.update(category=category, sla_minutes=sla)
                    start = as_utc(opened_at)
                    if start is not None:
                        values["sla_due_at"] = office_hours.sla_deadline(
                            profile or self.profile(), start, sla
                        )
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
                case RouteCase(suggested=suggested, reasons=reasons):  # #17: docs/visits.md
                    vq.record_suggestion(
                        conn, case_id=case_id, suggested=suggested, reasons=reasons, now=now
                    )
                    events.append(queries.EventRow("routing", actor, f"suggested {suggested}"))
        if values:
            queries.record_effects(conn, case_id=case_id, values=values)
        queries.record_events(conn, case_id=case_id, events=events, now=now)

    def plan_step(self, case: RowMapping, trigger: Trigger) -> Outcome:
        """What the flow decides for a non-client trigger, without storing anything.

        Raises:
            CaseMovedOn: the flow has no such step from the case's state.
        """
        try:
            return step(
                State(case["state"]),
                FlowEvent(trigger),
                self.profile(case["profile"]),
                locale=case["locale"],
                context=json.loads(case["context_json"]),
                fields=json.loads(case["fields_json"]),
                category=case["category"],
            )
        except MachineError as exc:
            action = trigger.removeprefix("agent_").replace("_", " ")
            state = case["state"].replace("_", " ")
            raise CaseMovedOn(
                f"case {case['id']} is {state} now, so '{action}' is not possible;"
                " reload it to see what changed"
            ) from exc

    def step_case(
        self, conn: Connection, case: RowMapping, trigger: Trigger, *, actor: str, role: str
    ) -> Outcome:
        """Step a case for an agent action or a timer and store it, in the caller's transaction.

        Raises:
            CaseMovedOn: the flow has no such step from the case's state.
        """
        turn = self.plan_step(case, trigger)
        now = self._clock.now()
        queries.record_step(
            conn,
            case_id=case["id"],
            state=turn.state.value,
            locale=turn.locale,
            fields_json=json.dumps(turn.fields, ensure_ascii=False),
            context_json=json.dumps(turn.context, ensure_ascii=False),
            now=now,
        )
        if turn.effects:
            self.apply_effects(
                conn,
                case["id"],
                as_utc(case["opened_at"]),
                turn.effects,
                now,
                actor=actor,
                profile=self.profile(case["profile"]),
            )
        author = "bot" if role == "timer" else actor
        rows = self.render_replies(turn.replies, turn.locale, author=author)
        self.write_replies(conn, case, rows)
        if turn.state.value != case["state"]:
            logger.info(
                "Case %s moved from %s to %s (%s by %s).",
                case["id"],
                case["state"],
                turn.state.value,
                trigger,
                actor,
            )
        return turn

    def write_replies(
        self, conn: Connection, case: Mapping[Any, Any], rows: list[queries.OutboundRow]
    ) -> None:
        """Put replies in the case's outbox; a case without a channel only records them."""
        queries.enqueue_replies(
            conn,
            case_id=case["id"],
            channel=case["channel"],
            chat_id=case["chat_id"],
            replies=rows,
            now=self._clock.now(),
            status="manual" if case["channel"] == MANUAL_CHANNEL else "pending",
        )

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

    def _with_queue_position(
        self, conn: Connection, case_id: int, replies: list[Reply]
    ) -> list[Reply]:
        """The queue-position phrase gets the case's place among its desk's queued cases."""
        if not any(r.key == keys.QUEUE_POSITION for r in replies):
            return replies
        position = queries.queue_position(conn, case_id=case_id)
        if position is None:
            return [r for r in replies if r.key != keys.QUEUE_POSITION]
        return [
            replace(r, variables={**r.variables, "position": position})
            if r.key == keys.QUEUE_POSITION
            else r
            for r in replies
        ]

    def _say(
        self, conn: Connection, case_id: int, inbound: Inbound, replies: list[Reply], locale: str
    ) -> list[str]:
        rows = self.render_replies(replies, locale)
        case = {"id": case_id, "channel": inbound.channel, "chat_id": inbound.chat_id}
        self.write_replies(conn, case, rows)
        return [row.text for row in rows]


def _with_place(text: str, inbound: Inbound) -> str:
    """The transcript's text of a shared location: where it is, for the agents to read.

    The flow reads the coordinates from the message itself; without this line the
    transcript kept an empty text and only the inbox's raw payload knew the place.
    """
    if inbound.location is None:
        return text
    latitude, longitude = inbound.location
    place = f"📍 {latitude:.6f}, {longitude:.6f}"
    if inbound.place:
        place += f" ({inbound.place})"
    return f"{text}\n{place}" if text else place
