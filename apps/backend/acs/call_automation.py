"""Outbound commands to ACS Call Automation through the real async SDK.

One long-lived `CallAutomationClient` per process (it pools connections). Built from the endpoint and
key ourselves because `from_connection_string` forces https (see connection_string.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from azure.communication.callautomation import (
    AudioFormat,
    CallConnectionProperties,
    FileSource,
    MediaStreamingAudioChannelType,
    MediaStreamingContentType,
    MediaStreamingOptions,
    PhoneNumberIdentifier,
    StreamingTransportType,
)
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from pydantic import BaseModel

from apps.backend.acs.connection_string import AcsConnectionString

log = logging.getLogger(__name__)
T = TypeVar("T")


class AnsweredCall(BaseModel, frozen=True):
    call_connection_id: str
    server_call_id: str | None = None
    correlation_id: str | None = None


class AcsCommandError(Exception):
    """ACS refused or failed a command; `status` is ACS' HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def media_streaming_options(transport_url: str, audio_format: str) -> MediaStreamingOptions:
    return MediaStreamingOptions(
        transport_url=transport_url,
        transport_type=StreamingTransportType.WEBSOCKET,
        content_type=MediaStreamingContentType.AUDIO,
        audio_channel_type=MediaStreamingAudioChannelType.MIXED,
        start_media_streaming=True,
        enable_bidirectional=True,
        audio_format=AudioFormat(audio_format),
        enable_dtmf_tones=True,  # ACS streams DtmfData only when asked to
    )


def _connection(props: CallConnectionProperties, operation: str) -> AnsweredCall:
    if not props.call_connection_id:
        raise AcsCommandError(f"{operation} returned no call connection id")
    return AnsweredCall(
        call_connection_id=props.call_connection_id,
        server_call_id=props.server_call_id,
        correlation_id=props.correlation_id,
    )


class AcsCallAutomation:
    def __init__(self, connection: AcsConnectionString) -> None:
        self.endpoint = connection.endpoint
        self._client = CallAutomationClient(connection.endpoint, AzureKeyCredential(connection.access_key))

    async def close(self) -> None:
        await self._client.close()

    async def answer(
        self,
        *,
        incoming_call_context: str,
        callback_url: str,
        transport_url: str,
        audio_format: str,
        call_id: str,
    ) -> AnsweredCall:
        props = await _command(
            "answer_call",
            self._client.answer_call(
                incoming_call_context,
                callback_url,
                operation_context=call_id,
                media_streaming=media_streaming_options(transport_url, audio_format),
            ),
        )
        return _connection(props, "answer_call")

    async def create_call(
        self,
        *,
        target_number: str,
        source_number: str | None,
        callback_url: str,
        transport_url: str,
        audio_format: str,
        call_id: str,
    ) -> AnsweredCall:
        props = await _command(
            "create_call",
            self._client.create_call(
                PhoneNumberIdentifier(target_number),
                callback_url,
                source_caller_id_number=PhoneNumberIdentifier(source_number) if source_number else None,
                operation_context=call_id,
                media_streaming=media_streaming_options(transport_url, audio_format),
            ),
        )
        return _connection(props, "create_call")

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool = True) -> bool:
        """Hang up; False when ACS no longer knows the call (already gone)."""
        connection = self._client.get_call_connection(call_connection_id)
        try:
            await connection.hang_up(is_for_everyone=for_everyone)
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            raise AcsCommandError(f"hang_up failed: {exc.message}", exc.status_code) from exc
        except ServiceRequestError as exc:  # ACS unreachable (DNS, refused, TLS): a refusal, not a crash
            raise AcsCommandError(f"hang_up failed: ACS unreachable ({type(exc).__name__})") from exc
        return True

    async def transfer_to_number(self, call_connection_id: str, target_number: str, *, call_id: str) -> None:
        """Blind-transfer the caller to a PSTN number (the human queue); ACS reports the outcome by callback."""
        connection = self._client.get_call_connection(call_connection_id)
        await _command(
            "transfer",
            connection.transfer_call_to_participant(
                PhoneNumberIdentifier(target_number), operation_context=call_id
            ),
        )

    # --- warm transfer: hold the caller, add the human, then leave them together -------------------
    async def hold(self, call_connection_id: str, participant: str, *, music_url: str | None) -> None:
        """Put a phone participant on hold; they hear `music_url` (a FileSource) if given."""
        connection = self._client.get_call_connection(call_connection_id)
        source = FileSource(url=music_url) if music_url else None
        await _command("hold", connection.hold(PhoneNumberIdentifier(participant), play_source=source))

    async def unhold(self, call_connection_id: str, participant: str) -> None:
        connection = self._client.get_call_connection(call_connection_id)
        await _command("unhold", connection.unhold(PhoneNumberIdentifier(participant)))

    async def add_participant(
        self,
        call_connection_id: str,
        target_number: str,
        *,
        source_number: str | None,
        timeout_s: int,
        operation_context: str,
    ) -> str | None:
        """Invite a phone number into the call; ACS reports AddParticipantSucceeded/Failed by callback.
        Returns the invitation id (for cancelling)."""
        connection = self._client.get_call_connection(call_connection_id)
        result = await _command(
            "add_participant",
            connection.add_participant(
                PhoneNumberIdentifier(target_number),
                invitation_timeout=timeout_s,
                operation_context=operation_context,
                source_caller_id_number=PhoneNumberIdentifier(source_number) if source_number else None,
            ),
        )
        return result.invitation_id

    async def cancel_add_participant(self, call_connection_id: str, invitation_id: str) -> None:
        connection = self._client.get_call_connection(call_connection_id)
        await _command("cancel_add_participant", connection.cancel_add_participant_operation(invitation_id))


async def _command(name: str, request: Awaitable[T]) -> T:
    """Await one Call Automation request; ACS' refusals and unreachability become AcsCommandError."""
    try:
        return await request
    except HttpResponseError as exc:
        raise AcsCommandError(f"{name} failed: {exc.message}", exc.status_code) from exc
    except ServiceRequestError as exc:  # ACS unreachable (DNS, refused, TLS): a refusal, not a crash
        raise AcsCommandError(f"{name} failed: ACS unreachable ({type(exc).__name__})") from exc
