"""The browser chat: messages come from the page, replies are read by the page's event stream."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from chatbot.domain import Attachment, Inbound, OutboundMessage
from chatbot.errors import MalformedPayload

from .base import RawRequest
from .fields import clean_text, first_error

MAX_TEXT = 4000
MAX_BUTTON = 64  # the flow's payloads are short words (`yes`, `rating:5`)
MAX_MESSAGE_ID = 64
CHAT_ID_PATTERN = r"^[A-Za-z0-9]{8,64}$"


class WebChatForm(BaseModel):
    """What the chat page posts: one typed message or one pressed button, every field bounded."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    chat_id: Annotated[str, Field(pattern=CHAT_ID_PATTERN)]
    message_id: Annotated[
        str, Field(min_length=1, max_length=MAX_MESSAGE_ID, pattern=r"^[A-Za-z0-9_.:-]+$")
    ]
    text: Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(clean_text)] = ""
    button: Annotated[str, Field(max_length=MAX_BUTTON), AfterValidator(clean_text)] = ""


class WebChannel:
    """Web chat on `loket serve`: the page posts a form and listens to an event stream."""

    name: ClassVar[str] = "web"

    def verify(self, request: RawRequest) -> None:
        """The browser is our own page; its session cookie identifies the chat."""

    def parse(self, request: RawRequest) -> list[Inbound]:
        """One typed message or pressed button from the page's form.

        Raises:
            MalformedPayload: no chat id or message id, or a field over its limit.
        """
        values = {name: found[0] for name, found in request.form.items() if found}
        try:
            form = WebChatForm.model_validate(values)
        except ValidationError as exc:
            raise MalformedPayload(f"not a chat message: {first_error(exc)}") from None
        text = form.text.strip()
        button = form.button or None
        if not text and button is None:
            return []
        return [
            Inbound(
                channel=self.name,
                chat_id=form.chat_id,
                message_id=f"{form.chat_id}:{form.message_id}",
                text=text or (button or ""),
                kind="button" if button else "text",
                button=button,
            )
        ]

    def parse_upload(self, fields: dict[str, str], file: Attachment) -> Inbound:
        """A file the client attached, with its optional caption (`text`), as one message.

        `file` was checked already (chatbot/channels/files.py); its `stored_path` may be
        filled in later, under a name made from the returned message id.

        Raises:
            MalformedPayload: no chat id or message id, or a field over its limit.
        """
        try:
            form = WebChatForm.model_validate({**fields, "button": ""})
        except ValidationError as exc:
            raise MalformedPayload(f"not a chat message: {first_error(exc)}") from None
        return Inbound(
            channel=self.name,
            chat_id=form.chat_id,
            message_id=f"{form.chat_id}:{form.message_id}",
            text=form.text.strip(),
            kind=file.kind,
            attachments=(file,),
        )

    async def send(self, message: OutboundMessage) -> str:
        """The page reads replies from the database itself; delivery is recording it as sent."""
        return f"web-{message.message_id}"
