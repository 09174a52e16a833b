"""Fake provider APIs on 127.0.0.1 for the channel and webhook tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.bot_api import FakeBotApi
from tests.fakes.twilio_api import FakeTwilioApi


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi().start()
    yield api
    api.stop()


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilioApi]:
    api = FakeTwilioApi().start()
    yield api
    api.stop()
