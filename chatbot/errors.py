"""Every deliberate rejection, named; web/errors.py maps each to a status code."""

from __future__ import annotations


class LoketError(Exception):
    """Base of Loket's named errors; the message is safe to show to the caller."""


class InvalidSignature(LoketError):
    """The request did not come from the provider it claims (bad secret or signature)."""


class MalformedPayload(LoketError):
    """The body cannot be understood (bad JSON, missing fields)."""


class PayloadTooLarge(LoketError):
    """The body is over the configured limit."""


class BodyTooSlow(LoketError):
    """The body did not arrive in the time allowed (a slow sender holds memory and a slot)."""


class Overloaded(LoketError):
    """Too many requests are in progress here; the caller should try again shortly."""


class TooManyRequests(LoketError):
    """The caller went over a rate limit; `seconds` until it may try again.

    `message`, when given, tells a client why in their language (the web chat shows it).
    """

    def __init__(self, reason: str, seconds: float, message: str | None = None) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.message = message


class DeskUnavailable(LoketError):
    """The desk could not take the message just now; the provider should send it again."""


class UnknownChannel(LoketError):
    """No channel of that name is configured on this installation."""


class RetryLater(LoketError):
    """The provider asked us to wait (429) or was unreachable; try again after `seconds`."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry after {seconds:g}s")
        self.seconds = seconds


class SendFailed(LoketError):
    """The provider refused the message for good; retrying will not help."""


class UnknownPhrase(LoketError):
    """No phrase of that key, or no such locale."""


class PhraseRejected(LoketError):
    """Admin text that may not be saved; the old text stays in force.

    `problems` lists (locale, key, line or None, reason), one per refused template.
    """

    def __init__(self, problems: list[tuple[str, str, int | None, str]]) -> None:
        super().__init__(
            "; ".join(
                f"{locale}/{key}: " + (f"line {line}: {reason}" if line else reason)
                for locale, key, line, reason in problems
            )
        )
        self.problems = problems


class SettingsRejected(LoketError):
    """Profile settings that fail validation; the message names each field."""


class MediaUnavailable(LoketError):
    """A client's media file could not be fetched (gone, too large, provider down)."""


class UnknownFile(LoketError):
    """No file behind that link (forged, expired), or not for this chat."""


class UnknownCase(LoketError):
    """No case with that id (or it is not visible here)."""


class CaseTaken(LoketError):
    """Another agent owns the case already (the one-owner rule)."""


class NotAllowed(LoketError):
    """The user may not do this to this case, or not in its current state."""


class CaseMovedOn(NotAllowed):
    """The case's state does not allow the step now: someone, or the client, moved it on.

    A conflict with what happened meanwhile (409), not a refusal of who asks (403).
    """


class InvalidInput(LoketError):
    """A form value that cannot be used; the message says which and why."""
