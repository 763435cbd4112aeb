"""Azure Speech providers: the real Speech SDK against a loopback server that speaks the service's protocol."""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from tests.fakes.azure_speech_service import AzureSpeechService, Utterance
from voice.errors import ProviderError
from voice.stt.azure import AzureSpeechToText
from voice.stt.azure_session import AzureSttSession
from voice.stt.base import SttConfig
from voice.tts.azure import AzureTextToSpeech, build_ssml

KEY = "test-key-0123456789abcdef"
SSML_NS = "{http://www.w3.org/2001/10/synthesis}"


@pytest.fixture
async def service() -> AsyncIterator[AzureSpeechService]:
    async with AzureSpeechService(key=KEY) as fake:
        yield fake


def azure_stt(service: AzureSpeechService, **options: Any) -> AzureSpeechToText:
    # Generous waits: these tests are about what is recognised, not how fast (CI machines get busy).
    options = {"end_of_turn_timeout_s": 5.0, "first_result_grace_s": 2.0, **options}
    return AzureSpeechToText(key=options.pop("key", KEY), host=service.host, **options)


def voiced(ms: int, rate: int = 16000) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return (np.sin(2 * math.pi * 300 * t) * 8000).astype("<i2").tobytes()


def silence(ms: int, rate: int = 16000) -> bytes:
    return bytes(2 * rate * ms // 1000)


async def push_turn(session: AzureSttSession, pcm: bytes, rate: int = 16000, speed: float = 4.0) -> None:
    """Push like the cascade does (20 ms frames), `speed` times faster than real time."""
    frame = 2 * rate // 50
    for start in range(0, len(pcm), frame):
        session.push(pcm[start : start + frame])
        await asyncio.sleep(0.02 / speed)


def caller_turn(speech_ms: int, rate: int = 16000, trailing_ms: int = 600) -> bytes:
    return silence(200, rate) + voiced(speech_ms, rate) + silence(trailing_ms, rate)


# ---------------------------------------------------------------------------------------------------------
# Speech to text


async def test_a_turn_is_transcribed_with_partials_on_the_loop_thread(service: AzureSpeechService) -> None:
    service.script(Utterance("Check my balance, please.", confidence=0.87))
    partials: list[tuple[str, int]] = []
    stt = azure_stt(service)
    config = SttConfig(
        sample_rate=16000,
        languages=["en-US"],
        phrases=["check my balance", "Contoso Bank", "check my balance", " "],
        on_partial=lambda text: partials.append((text, threading.get_ident())),
        call_id="c1",
    )
    session = await stt.open_session(config)
    try:
        await push_turn(session, caller_turn(1000))
        recognition = await session.end_of_turn()
    finally:
        await session.aclose()

    assert recognition.text == "Check my balance, please."
    assert recognition.language == "en-US"
    assert recognition.confidence == pytest.approx(0.87)
    assert [text for text, _ in partials][:3] == ["check", "check my", "check my balance"]
    assert {thread for _, thread in partials} == {threading.get_ident()}

    request = service.recognitions[0]
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert request.query["language"].lower() == "en-us"
    assert request.sample_rate == 16000
    assert request.phrases == ["check my balance", "Contoso Bank"]  # de-duplicated, blanks dropped
    assert request.contexts[-1].segmentation_silence_ms == 400


async def test_two_turns_in_a_row_keep_their_own_text(service: AzureSpeechService) -> None:
    service.script("I want to pay a bill.", "The electricity one.")
    session = await azure_stt(service).open_session(SttConfig(sample_rate=16000))
    try:
        await push_turn(session, caller_turn(800))
        first = await session.end_of_turn()
        # Second turn ends with less silence than the service needs to end a phrase: end_of_turn makes up
        # the difference instead of waiting for the timeout.
        await push_turn(session, caller_turn(600, trailing_ms=100))
        second = await session.end_of_turn()
        nothing = await session.end_of_turn()  # nothing pushed since: an empty turn, at once
    finally:
        await session.aclose()
    assert (first.text, second.text, nothing.text) == ("I want to pay a bill.", "The electricity one.", "")
    assert service.recognitions[0].phrases_sent == ["I want to pay a bill.", "The electricity one."]


async def test_a_turn_with_several_phrases_is_joined(service: AzureSpeechService) -> None:
    service.script("Hello.", "I lost my card.")
    session = await azure_stt(service).open_session(SttConfig(sample_rate=8000))
    try:
        pcm = voiced(500, 8000) + silence(700, 8000) + voiced(900, 8000) + silence(600, 8000)
        await push_turn(session, pcm, rate=8000)
        recognition = await session.end_of_turn()
    finally:
        await session.aclose()
    assert recognition.text == "Hello. I lost my card."
    assert service.recognitions[0].sample_rate == 8000


async def test_discarded_audio_never_reaches_a_later_turn(service: AzureSpeechService) -> None:
    service.script("Uh-huh.", "Transfer me to an agent.")
    session = await azure_stt(service).open_session(SttConfig(sample_rate=16000))
    try:
        await push_turn(session, silence(100) + voiced(400) + silence(100))
        session.discard_turn()  # a backchannel: its phrase, final or not, belongs to no turn
        await push_turn(session, caller_turn(900))
        recognition = await session.end_of_turn()
    finally:
        await session.aclose()
    assert recognition.text == "Transfer me to an agent."


async def test_language_identification_reports_the_spoken_language(service: AzureSpeechService) -> None:
    service.script(Utterance("Quiero pagar una factura.", language="es-ES"))
    stt = azure_stt(service, max_phrases=2)
    config = SttConfig(
        sample_rate=16000, languages=["en-US", "es-ES"], phrases=["factura", "saldo", "tarjeta"]
    )
    session = await stt.open_session(config)
    try:
        await push_turn(session, caller_turn(900))
        recognition = await session.end_of_turn()
    finally:
        await session.aclose()
    assert (recognition.text, recognition.language) == ("Quiero pagar una factura.", "es-ES")
    request = service.recognitions[0]
    assert request.query["lidEnabled"] == "en-US,es-ES"
    context = request.contexts[-1]
    assert context.language_id is not None and context.language_id.languages == ["en-US", "es-ES"]
    assert context.language_id.mode == "DetectContinuous"
    assert request.phrases == ["factura", "saldo"]  # bounded


async def test_audio_at_24khz_is_sent_at_16khz(service: AzureSpeechService) -> None:
    service.script("Yes.")
    session = await azure_stt(service).open_session(SttConfig(sample_rate=24000))
    try:
        await push_turn(session, caller_turn(500, rate=24000), rate=24000)
        recognition = await session.end_of_turn()
    finally:
        await session.aclose()
    assert recognition.text == "Yes."
    assert service.recognitions[0].sample_rate == 16000


@pytest.mark.parametrize(
    ("code", "reason"),
    [(1007, "Quota exceeded."), (1011, "Internal service error.")],  # 1011: the SDK retries ~2.5 s first
)
async def test_a_service_failure_surfaces_at_the_next_end_of_turn(
    service: AzureSpeechService, code: int, reason: str
) -> None:
    service.script("Hello.")
    session = await azure_stt(service).open_session(SttConfig(sample_rate=16000))
    try:
        await push_turn(session, caller_turn(400))
        assert (await session.end_of_turn()).text == "Hello."
        service.break_recognition(code, reason)
        await push_turn(session, caller_turn(400))
        with pytest.raises(ProviderError) as failure:
            for _ in range(20):  # the SDK reports the closed connection within a turn or two
                await session.end_of_turn()
                await push_turn(session, caller_turn(100))
        with pytest.raises(ProviderError):
            await session.end_of_turn()  # and the session stays failed
    finally:
        await session.aclose()
    assert failure.value.provider == "azure-speech"
    assert reason in failure.value.message
    assert KEY not in str(failure.value)


async def test_a_refused_key_fails_open_session(service: AzureSpeechService) -> None:
    stt = azure_stt(service, key="wrong-key-000")
    with pytest.raises(ProviderError) as failure:
        await stt.open_session(SttConfig(sample_rate=16000))
    assert "401" in failure.value.message
    assert "wrong-key-000" not in str(failure.value)


async def test_an_unreachable_service_fails_open_session() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stt = AzureSpeechToText(key=KEY, host=f"ws://127.0.0.1:{port}", connect_timeout_s=5.0)
    with pytest.raises(ProviderError) as failure:
        await stt.open_session(SttConfig(sample_rate=16000))
    assert failure.value.provider == "azure-speech"


async def test_aclose_is_idempotent_and_ends_the_session(service: AzureSpeechService) -> None:
    session = await azure_stt(service).open_session(SttConfig(sample_rate=16000))
    await push_turn(session, silence(200))
    await asyncio.gather(session.aclose(), session.aclose())
    await session.aclose()
    session.push(voiced(100))  # ignored
    with pytest.raises(ProviderError):
        await session.end_of_turn()
    for _ in range(100):
        if service.recognitions[0].closed:
            break
        await asyncio.sleep(0.02)
    assert service.recognitions[0].closed


# ---------------------------------------------------------------------------------------------------------
# Text to speech


@pytest.mark.parametrize("sample_rate", [16000, 24000])
async def test_stream_yields_pcm_in_the_requested_format(
    service: AzureSpeechService, sample_rate: int
) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    chunks = [c async for c in tts.stream("Your balance is forty two dollars.", sample_rate=sample_rate)]
    assert len(chunks) > 1 and all(len(c) % 2 == 0 for c in chunks)
    request = service.syntheses[0]
    assert request.headers["Ocp-Apim-Subscription-Key"] == KEY
    assert request.context is not None
    assert request.context.synthesis.audio.output_format == f"raw-{sample_rate // 1000}khz-16bit-mono-pcm"
    assert request.voice == "en-US-AvaMultilingualNeural"
    assert sum(map(len, chunks)) == request.audio_bytes_sent  # native rate: byte for byte
    assert request.completed


async def test_synthesizers_are_reused_across_utterances(service: AzureSpeechService) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    await tts.warm_up(16000)  # connects ahead of the first reply
    for text in ("Hello.", "How can I help?", "Goodbye."):
        assert await tts.synthesize(text, sample_rate=16000)
    assert [path for path in service.connections] == ["/cognitiveservices/websocket/v1"]


async def test_concurrent_utterances_never_mix_audio(service: AzureSpeechService) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    texts = ["Short.", "A somewhat longer sentence for the second caller.", "Medium length reply."]
    results = await asyncio.gather(*(tts.synthesize(text, sample_rate=16000) for text in texts))
    sent = {request.text: request.audio_bytes_sent for request in service.syntheses}
    assert [len(pcm) for pcm in results] == [sent[text] for text in texts]
    assert len(set(map(len, results))) == 3


async def test_other_rates_are_resampled_from_the_next_native_one(service: AzureSpeechService) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    pcm = await tts.synthesize("One moment.", sample_rate=12000)
    request = service.syntheses[0]
    assert request.sample_rate == 16000
    assert len(pcm) == pytest.approx(request.audio_bytes_sent * 12 / 16, rel=0.02)
    assert await tts.synthesize("   ", sample_rate=16000) == b""
    assert len(service.syntheses) == 1  # blank text never reaches the service


async def test_ssml_carries_voice_rate_and_style_and_escapes_text(service: AzureSpeechService) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    text = 'Tom & Jerry <3 "quotes" > all'
    await tts.synthesize(text, sample_rate=16000, voice="en-US-JennyNeural", rate=1.2, style="cheerful")
    request = service.syntheses[0]
    assert (request.voice, request.text) == ("en-US-JennyNeural", text)
    root = ET.fromstring(request.ssml)
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    style = root.find(f"{SSML_NS}voice/{{https://www.w3.org/2001/mstts}}express-as")
    assert style is not None and style.get("style") == "cheerful"
    prosody = style.find(f"{SSML_NS}prosody")
    assert prosody is not None and prosody.get("rate") == "+20%"


def test_ssml_rate_is_a_signed_percent_and_clamped() -> None:
    assert 'rate="-10%"' in build_ssml("hi", voice="es-ES-ElviraNeural", rate=0.9)
    assert 'xml:lang="es-ES"' in build_ssml("hi", voice="es-ES-ElviraNeural")
    assert "prosody" not in build_ssml("hi", voice="en-US-JennyNeural", rate=1.0)
    assert 'rate="+100%"' in build_ssml("hi", voice="en-US-JennyNeural", rate=3.0)
    with pytest.raises(ValueError):
        build_ssml("hi", voice="en-US-JennyNeural", rate=0)


async def test_an_unknown_voice_is_a_value_error_before_any_audio(service: AzureSpeechService) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    received: list[bytes] = []
    with pytest.raises(ValueError, match="xx-XX-NobodyNeural"):
        async for chunk in tts.stream("Hello.", sample_rate=16000, voice="xx-XX-NobodyNeural"):
            received.append(chunk)
    assert received == []
    assert await tts.synthesize("Hello.", sample_rate=16000)  # the provider carries on


async def test_leaving_the_stream_early_stops_synthesis(service: AzureSpeechService) -> None:
    service.synthesis_speed = 5.0  # slow enough to leave half-way
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    long_text = "This is a long answer that the caller will interrupt. " * 6
    async with contextlib.aclosing(tts.stream(long_text, sample_rate=16000)) as stream:
        async for _ in stream:
            break
    # Cancelling the consuming task (barge-in) stops it too.
    first_chunk = asyncio.Event()

    async def speak() -> None:
        async for _ in tts.stream(long_text, sample_rate=16000):
            first_chunk.set()

    task = asyncio.create_task(speak())
    await first_chunk.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await asyncio.sleep(0.1)
    for request in service.syntheses:
        assert not request.completed
        assert 0 < request.audio_bytes_sent < 16000 * 2 * len(long_text) * service.ms_per_character // 1000
    # The stopped synthesizer is reused and works.
    service.synthesis_speed = 20.0
    assert await tts.synthesize("Sorry, go ahead.", sample_rate=16000)
    assert service.syntheses[-1].completed


async def test_a_service_failure_is_a_provider_error(service: AzureSpeechService) -> None:
    tts = AzureTextToSpeech(key=KEY, host=service.host)
    service.break_synthesis(1011, "Internal service error.")
    with pytest.raises(ProviderError) as failure:
        await tts.synthesize("Hello.", sample_rate=16000)
    assert failure.value.provider == "azure-speech"
    assert "Internal service error" in failure.value.message
    assert KEY not in str(failure.value)
    service.heal()
    assert await tts.synthesize("Hello again.", sample_rate=24000)
