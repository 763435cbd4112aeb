"""ACS that cannot be reached is a refused command (`AcsCommandError`), which the call service turns into a failed
call record, never an unhandled exception (the webhook used to answer 500 with a traceback)."""

from __future__ import annotations

import base64

import pytest

from apps.backend.acs.call_automation import AcsCallAutomation, AcsCommandError
from apps.backend.acs.connection_string import AcsConnectionString
from tests.support import free_port


async def test_answering_through_an_unreachable_acs_is_a_command_error() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    acs = AcsCallAutomation(
        AcsConnectionString.parse(f"endpoint=http://127.0.0.1:{free_port()}/;accesskey={key}")
    )
    try:
        with pytest.raises(AcsCommandError, match="ACS unreachable"):
            await acs.answer(
                incoming_call_context="ctx",
                callback_url="http://127.0.0.1:1/callbacks",
                transport_url="ws://127.0.0.1:1/media",
                audio_format="pcm16KMono",
                call_id="c1",
            )
    finally:
        await acs.close()
