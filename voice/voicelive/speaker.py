"""Speaker: what we ask the realtime session to say or know: tagged `response.create`s (which the TurnBook
matches to the responses they start), verbatim lines, greetings, and conversation items."""

from __future__ import annotations

import asyncio
import logging

from azure.ai.voicelive.models import ConversationRequestItem

from voice.session.conversation import CallConversation
from voice.transcript import TurnKind
from voice.voicelive.channel import RealtimeChannel
from voice.voicelive.responses import ResponseRequest
from voice.voicelive.turn_book import TurnBook

log = logging.getLogger(__name__)

PLAIN_GREETING = "Hello, how can I help you today?"


class Speaker:
    def __init__(
        self,
        channel: RealtimeChannel,
        book: TurnBook,
        conversation: CallConversation,
        *,
        response_timeout_s: float,
    ) -> None:
        self._channel = channel
        self._book = book
        self._conv = conversation
        self._response_timeout_s = response_timeout_s

    async def tell(self, item: ConversationRequestItem) -> bool:
        """Add an item (a function output, a user message, replayed history) to the session's conversation."""
        return await self._channel.add_item(item)

    async def request_response(self, kind: TurnKind, text: str | None = None) -> ResponseRequest:
        """`response.create`; with `text`, VoiceLive speaks exactly that (pre-generated assistant message)."""
        request = self._book.expect(kind, text)
        if not await self._channel.create_response(request.tag, text):
            self._book.withdraw(request)
        return request

    async def say(self, text: str, kind: TurnKind) -> bool:
        """Speak `text` verbatim and wait (bounded) until the caller heard it. True if heard to the end."""
        request = await self.request_response(kind, text)
        try:
            async with asyncio.timeout(self._response_timeout_s):
                return await asyncio.shield(request.heard)
        except TimeoutError:
            log.warning("spoken line was not played in time", extra={"kind": kind})
            return False

    async def greet(self, *, returning: bool) -> None:
        """The active agent's greeting, verbatim."""
        try:
            text = self._conv.greeting(returning=returning)
        except Exception:  # a template that only breaks on real call data must not leave dead air
            log.exception("greeting template failed; using a plain greeting")
            text = PLAIN_GREETING
        await self.request_response("greeting", text)
