"""RealtimeChannel: the call's realtime session kept open (one reconnect by default) and what we send on it.

The SDK connection is replaced on a reconnect, so every send goes to whichever link is current; with no link,
or on a dead socket, a send returns False (logged) and the receive loop notices the drop.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from azure.ai.voicelive.aio import VoiceLiveConnection
from azure.ai.voicelive.models import (
    AssistantMessageItem,
    ConversationRequestItem,
    OutputTextContentPart,
    RequestSession,
    ResponseCreateParams,
)

from voice.voicelive.config import VoiceLiveSettings
from voice.voicelive.link import ConnectFactory, RealtimeLink, RealtimeUnavailable, open_link, server_events
from voice.voicelive.responses import TAG_KEY

log = logging.getLogger(__name__)

SESSION_LOST = "realtime session lost"
SESSION_UNAVAILABLE = "realtime session unavailable"


class RealtimeChannel:
    def __init__(self, connect: ConnectFactory, settings: VoiceLiveSettings) -> None:
        self._connect = connect
        self._settings = settings
        self.link: RealtimeLink | None = None
        self._closed = False

    @property
    def ready(self) -> bool:
        return self.link is not None

    async def serve(
        self,
        *,
        session: Callable[[], RequestSession],
        on_open: Callable[[RealtimeLink, bool], Awaitable[None]],
        handle: Callable[[Any], Awaitable[None]],
        on_drop: Callable[[], None],
    ) -> str | None:
        """Open the session and hand its events to `handle`; after a drop, reconnect (`on_open` is told it
        is a reconnect, so the conversation can be replayed). Returns why the session is gone for good
        (end the call with it), or None if the channel was closed."""
        try:
            self.link = await open_link(self._connect, self._settings, session())
        except RealtimeUnavailable as exc:
            log.error("realtime session could not be opened; ending the call", extra={"error_type": str(exc)})
            return SESSION_UNAVAILABLE
        await on_open(self.link, False)
        reconnects = self._settings.reconnect_attempts
        while True:
            link = self.link
            if link is not None:
                async for event in server_events(link.connection):
                    await handle(event)
            if self._closed:
                return None
            await self._drop()
            on_drop()
            if reconnects <= 0:
                log.error("realtime session lost again; ending the call")
                return SESSION_LOST
            reconnects -= 1
            log.warning("realtime session dropped; reconnecting")
            try:
                self.link = await open_link(self._connect, self._settings, session())
            except RealtimeUnavailable as exc:
                log.error("realtime reconnect failed; ending the call", extra={"error_type": str(exc)})
                return SESSION_LOST
            await on_open(self.link, True)

    async def _drop(self) -> None:
        link, self.link = self.link, None
        if link is not None:
            await link.close()

    async def close(self) -> None:
        self._closed = True
        await self._drop()

    # --- sending -----------------------------------------------------------------------------------
    async def send(self, op: str, fn: Callable[[VoiceLiveConnection], Awaitable[None]]) -> bool:
        """Send on the current socket; False (logged) if there is none or it failed."""
        link = self.link
        if link is None:
            return False
        try:
            await fn(link.connection)
            return True
        except Exception as exc:
            log.warning("realtime send failed", extra={"op": op, "error_type": type(exc).__name__})
            return False

    async def append_audio(self, pcm: bytes) -> None:
        link = self.link
        if link is None:
            return
        try:
            await link.connection.input_audio_buffer.append(audio=base64.b64encode(pcm).decode("ascii"))
        except Exception:  # a dead socket: the receive loop notices and reconnects
            pass

    async def add_item(self, item: ConversationRequestItem) -> bool:
        return await self.send("conversation.item.create", lambda c: c.conversation.item.create(item=item))

    async def create_response(self, tag: str, text: str | None = None) -> bool:
        """`response.create` tagged in its metadata; with `text`, VoiceLive speaks exactly that."""
        params = ResponseCreateParams(metadata={TAG_KEY: tag})
        if text:
            params.pre_generated_assistant_message = AssistantMessageItem(
                content=[OutputTextContentPart(text=text)]
            )
        return await self.send("response.create", lambda c: c.response.create(response=params))

    async def cancel_response(self) -> bool:
        return await self.send("response.cancel", lambda c: c.response.cancel())

    async def truncate(self, item_id: str, audio_end_ms: int) -> bool:
        return await self.send(
            "conversation.item.truncate",
            lambda c: c.conversation.item.truncate(
                item_id=item_id, content_index=0, audio_end_ms=audio_end_ms
            ),
        )

    async def delete_items(self, item_ids: Sequence[str]) -> None:
        """`conversation.item.delete` for each item (one the server no longer has comes back as an error)."""
        for item_id in item_ids:
            await self.send("conversation.item.delete", partial(_delete_item, item_id=item_id))

    async def update_session(self, session: RequestSession) -> bool:
        return await self.send("session.update", lambda c: c.session.update(session=session))


async def _delete_item(connection: VoiceLiveConnection, *, item_id: str) -> None:
    await connection.conversation.item.delete(item_id=item_id)
