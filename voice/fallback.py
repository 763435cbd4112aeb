"""Ordered provider chains: a failing provider hands over to the next one, so a provider outage costs a
call at most one slower turn, never the call.

A provider that fails is skipped for `cooldown_s` (a tiny circuit breaker shared by the process's calls:
provider health is a property of the process, not of one call), so later turns don't each wait for the
same timeout. When every provider has failed, the chain raises `ProviderError` and the cascade apologises.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Generic, TypeVar

from voice.errors import ProviderError
from voice.expectation import Expectation
from voice.llm.base import ChatEvent, ChatModel, ChatRequest
from voice.stt.base import (
    ContinuableSession,
    ExpectingSession,
    Recognition,
    SpeechToText,
    SttConfig,
    SttSession,
)
from voice.tts.base import StreamingSynthesizer, TextToSpeech

log = logging.getLogger(__name__)

_P = TypeVar("_P")
MAX_REPLAY_BYTES = 24000 * 2 * 30  # 30 s at 24 kHz: the longest turn we can re-recognise elsewhere


class _Chain(Generic[_P]):
    def __init__(self, providers: Sequence[_P], *, cooldown_s: float, clock: Callable[[], float]) -> None:
        if not providers:
            raise ValueError("a provider chain needs at least one provider")
        self.providers = tuple(providers)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._down_until: dict[int, float] = {}

    def candidates(self) -> list[_P]:
        """Healthy providers first (in order), then the cooling-down ones as a last resort."""
        now = self._clock()
        healthy = [p for i, p in enumerate(self.providers) if self._down_until.get(i, 0.0) <= now]
        resting = [p for p in self.providers if p not in healthy]
        return healthy + resting

    def failed(self, provider: _P, exc: BaseException) -> None:
        index = self.providers.index(provider)
        self._down_until[index] = self._clock() + self._cooldown_s
        log.warning(
            "provider failed; falling back",
            extra={"provider": getattr(provider, "name", "?"), "error": _describe(exc)},
        )

    def succeeded(self, provider: _P) -> None:
        self._down_until.pop(self.providers.index(provider), None)


def _describe(exc: BaseException | None) -> str:
    return exc.message if isinstance(exc, ProviderError) else type(exc).__name__


class FallbackChatModel:
    """`ChatModel` over several: the next one takes the turn if one fails before saying anything.

    A failure after text was already streamed cannot be hidden (the caller heard it); it is raised as
    `ProviderError` and the provider is benched for the following turns.
    """

    def __init__(
        self,
        models: Sequence[ChatModel],
        *,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = _Chain(models, cooldown_s=cooldown_s, clock=clock)
        self.name = "+".join(m.name for m in models)

    async def stream(self, request: ChatRequest) -> AsyncGenerator[ChatEvent, None]:
        last: BaseException | None = None
        for model in self._chain.candidates():
            started = False
            try:
                # aclosing: a barge-in that stops consuming closes the provider's HTTP stream at once.
                async with contextlib.aclosing(model.stream(request)) as events:
                    async for event in events:
                        started = True
                        yield event
                self._chain.succeeded(model)
                return
            except Exception as exc:
                self._chain.failed(model, exc)
                last = exc
                if started:
                    raise ProviderError(model.name, f"failed mid-reply: {_describe(exc)}") from exc
        raise ProviderError(self.name, f"every chat provider failed (last: {_describe(last)})") from last


class FallbackTextToSpeech(StreamingSynthesizer):
    """`TextToSpeech` over several. A voice the provider lacks (ValueError) is retried in its default voice,
    since agent voice names are provider-specific; a provider failure moves to the next provider."""

    def __init__(
        self,
        engines: Sequence[TextToSpeech],
        *,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = _Chain(engines, cooldown_s=cooldown_s, clock=clock)
        self.name = "+".join(e.name for e in engines)

    async def stream(
        self,
        text: str,
        *,
        sample_rate: int,
        voice: str | None = None,
        rate: float = 1.0,
        style: str | None = None,
    ) -> AsyncGenerator[bytes, None]:
        last: BaseException | None = None
        for engine in self._chain.candidates():
            for attempt_voice in dict.fromkeys((voice, None)):  # the agent's voice, then the default
                started = False
                try:
                    stream = engine.stream(
                        text, sample_rate=sample_rate, voice=attempt_voice, rate=rate, style=style
                    )
                    async with contextlib.aclosing(stream):
                        async for chunk in stream:
                            started = True
                            yield chunk
                    self._chain.succeeded(engine)
                    return
                except ValueError as exc:
                    if started or attempt_voice is None:
                        last = exc
                        break
                    log.info("voice unavailable on this tts; using its default voice", extra={"voice": voice})
                except Exception as exc:
                    self._chain.failed(engine, exc)
                    last = exc
                    if started:
                        raise ProviderError(engine.name, f"failed mid-utterance: {_describe(exc)}") from exc
                    break
        raise ProviderError(self.name, f"every tts provider failed (last: {_describe(last)})") from last


class FallbackSpeechToText:
    """`SpeechToText` over several. Sessions keep the current turn's audio so that, when a provider fails
    at `end_of_turn`, the next provider re-recognises the same turn: the caller never has to repeat."""

    def __init__(
        self,
        engines: Sequence[SpeechToText],
        *,
        cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._chain = _Chain(engines, cooldown_s=cooldown_s, clock=clock)
        self.name = "+".join(e.name for e in engines)

    async def prepare(self, phrases: Sequence[str]) -> None:
        for engine in self._chain.providers:
            try:
                await engine.prepare(phrases)
            except Exception as exc:
                log.warning("stt prepare failed", extra={"provider": engine.name, "error": _describe(exc)})

    async def open_session(self, config: SttConfig) -> SttSession:
        session = _FallbackSttSession(self._chain, config)
        await session.open_next()
        return session


class _FallbackSttSession:
    def __init__(self, chain: _Chain[SpeechToText], config: SttConfig) -> None:
        self._chain = chain
        self._config = config
        self._tried: list[SpeechToText] = []
        self._engine: SpeechToText | None = None
        self._session: SttSession | None = None
        self._turn_audio = bytearray()
        self._expecting: Expectation | None = None

    @property
    def provider(self) -> str:
        return self._engine.name if self._engine else "none"

    async def open_next(self) -> SttSession:
        """Open a session on the next untried provider (raises ProviderError when none is left)."""
        last: BaseException | None = None
        for engine in self._chain.candidates():
            if engine in self._tried:
                continue
            self._tried.append(engine)
            try:
                session = self._session = await engine.open_session(self._config)
                self._engine = engine
                if self._expecting is not None and isinstance(session, ExpectingSession):
                    session.expect(self._expecting)
                return session
            except Exception as exc:
                self._chain.failed(engine, exc)
                last = exc
        self._session = None
        raise ProviderError("stt", f"every stt provider failed (last: {_describe(last)})") from last

    def push(self, pcm: bytes) -> None:
        if len(self._turn_audio) + len(pcm) <= MAX_REPLAY_BYTES:
            self._turn_audio += pcm
        if self._session is not None:
            self._session.push(pcm)

    def discard_turn(self) -> None:
        self._turn_audio.clear()
        if self._session is not None:
            self._session.discard_turn()

    def continue_turn(self) -> None:
        if isinstance(self._session, ContinuableSession):
            self._session.continue_turn()

    def expect(self, expectation: Expectation | None) -> None:
        self._expecting = expectation  # a provider that takes over later hears it too
        if isinstance(self._session, ExpectingSession):
            self._session.expect(expectation)

    async def end_of_turn(self) -> Recognition:
        try:
            while True:
                session, engine = self._session, self._engine
                if session is None or engine is None:
                    await self.open_next()
                    continue
                try:
                    result = await session.end_of_turn()
                    self._chain.succeeded(engine)
                    self._tried = [engine]  # a later failure may go back to providers that failed before
                    return result
                except Exception as exc:
                    self._chain.failed(engine, exc)
                    await _close_quietly(session)
                    self._session = None
                    replacement = await self.open_next()  # raises when none is left
                    replacement.push(bytes(self._turn_audio))
        finally:
            self._turn_audio.clear()

    async def aclose(self) -> None:
        if self._session is not None:
            await _close_quietly(self._session)
            self._session = None


async def _close_quietly(session: SttSession) -> None:
    try:
        await session.aclose()
    except Exception:
        log.debug("stt session close failed", exc_info=True)
