"""The local realtime server against the real clients: the azure-ai-voicelive SDK (beta dialect) and the
openai SDK (GA dialect), over loopback WebSockets served by uvicorn, on the embedded speech stack."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from azure.ai.voicelive.aio import connect as voicelive_connect
from azure.ai.voicelive.models import (
    AudioInputTranscriptionOptions,
    AzureSemanticDetection,
    AzureSemanticVad,
    FunctionCallOutputItem,
    FunctionTool,
    RequestSession,
)
from azure.core.credentials import AzureKeyCredential
from openai import AsyncOpenAI

from apps.acs_simulator.serving import ServedApp
from apps.realtime_server.app import create_realtime_app
from apps.realtime_server.auth import ClientSecretSigner, RealtimeAuth
from apps.realtime_server.engine import RealtimeEngine, build_embedded_engine
from registries.loader import load_registry
from voice.tts.local import EspeakTts

pytestmark = pytest.mark.e2e

KEY = "test-realtime-key"
SIGNING_KEY = b"test-realtime-signing-key-0123456789"
GREETING = "Thank you for calling Contoso Bank. How can I help you today?"
VERIFY = "My name is Jordan Rivera and the last four of my account are four eight two one"
VERIFIED_OUTPUT = json.dumps({"ok": True, "verified": True, "first_name": "Jordan", "customer_id": "c-1001"})


@pytest.fixture
async def engine() -> RealtimeEngine:
    return await build_embedded_engine(prepare=False)


@pytest.fixture
async def server(engine: RealtimeEngine) -> AsyncIterator[ServedApp]:
    auth = RealtimeAuth([KEY], ClientSecretSigner(SIGNING_KEY))
    served = ServedApp(create_realtime_app(engine, auth))
    await served.start()
    try:
        yield served
    finally:
        await served.stop()


def concierge_tools() -> list[dict[str, Any]]:
    snapshot = load_registry()
    return [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
        for t in snapshot.tools_for("concierge", "banking")
    ]


async def speech(text: str, rate: int = 24000) -> bytes:
    return await EspeakTts().synthesize(text, sample_rate=rate)


def chunks_20ms(pcm: bytes, rate: int) -> list[str]:
    size = rate // 50 * 2
    return [base64.b64encode(pcm[i : i + size]).decode() for i in range(0, len(pcm), size)]


async def collect_until(events: AsyncIterator[Any], done: str, *, timeout: float = 60.0) -> list[Any]:
    """Events up to and including the first of type `done` (a hang guard, not a speed assertion)."""
    seen: list[Any] = []

    async def run() -> None:
        async for event in events:
            seen.append(event)
            if event.type == done:
                return

    await asyncio.wait_for(run(), timeout)
    return seen


def audio_bytes(events: list[Any], kind: str) -> int:
    """The VoiceLive SDK hands audio deltas over decoded; the openai SDK as base64 text."""
    return sum(
        len(e.delta if isinstance(e.delta, bytes) else base64.b64decode(e.delta))
        for e in events
        if e.type == kind
    )


def transcript(events: list[Any], kind: str) -> str:
    return "".join(e.delta for e in events if e.type == kind)


# --- 1. the VoiceLive SDK (beta dialect) --------------------------------------------------------------------
async def test_voicelive_sdk_conversation_with_greeting_speech_and_tool_call(server: ServedApp) -> None:
    async with voicelive_connect(
        endpoint=server.base_url, credential=AzureKeyCredential(KEY), model="gpt-4o-realtime"
    ) as conn:
        events = conn.__aiter__()
        created = await collect_until(events, "session.created")
        assert created[-1].session.id
        await conn.session.update(
            session={
                "instructions": "You are the Contoso Bank concierge.",
                "voice": {"type": "azure-standard", "name": "en-US-AvaNeural"},
                "input_audio_format": "pcm16",
                "input_audio_sampling_rate": 24000,
                "output_audio_format": "pcm16",
                "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                "input_audio_transcription": {"model": "whisper-1"},
                "input_audio_noise_reduction": {"type": "azure_deep_noise_suppression"},
                "tools": concierge_tools(),
            }
        )
        updated = await collect_until(events, "session.updated")
        assert {t["name"] for t in updated[-1].session.tools} >= {"verify_identity", "get_balance"}

        await conn.response.create(
            response={
                "pre_generated_assistant_message": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": GREETING}],
                },
                "metadata": {"request": "greeting-1"},
            }
        )
        greeting = await collect_until(events, "response.done")
        assert greeting[-1].response.metadata == {"request": "greeting-1"}  # clients match their responses
        assert audio_bytes(greeting, "response.audio.delta") > 24000 * 2  # over a second of speech
        assert transcript(greeting, "response.audio_transcript.delta") == GREETING
        assert greeting[-1].response.status == "completed"

        for chunk in chunks_20ms(await speech(VERIFY), 24000) + chunks_20ms(bytes(48000), 24000):
            await conn.input_audio_buffer.append(audio=chunk)
        turn = await collect_until(events, "response.done")
        kinds = [e.type for e in turn]
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index(
            "input_audio_buffer.speech_stopped"
        )
        heard = next(e for e in turn if e.type == "conversation.item.input_audio_transcription.completed")
        assert "jordan rivera" in heard.transcript.lower()
        call = next(e for e in turn if e.type == "response.function_call_arguments.done")
        assert call.name == "verify_identity"
        assert json.loads(call.arguments)["full_name"].lower() == "jordan rivera"
        assert turn[-1].response.status == "completed"

        await conn.conversation.item.create(
            item=FunctionCallOutputItem(call_id=call.call_id, output=VERIFIED_OUTPUT)
        )
        await conn.response.create()
        answer = await collect_until(events, "response.done")
        assert audio_bytes(answer, "response.audio.delta") > 0
        assert "verified" in transcript(answer, "response.audio_transcript.delta").lower()
        assert answer[-1].response.status == "completed"


async def paced(append: Any, chunks: list[str]) -> None:
    """Appends at the pace of live audio, as a caller's client does (so a pause lasts as long as it is)."""
    for chunk in chunks:
        await append(audio=chunk)
        await asyncio.sleep(0.02)


async def test_voicelive_sdk_semantic_vad_session_is_taken_and_a_turn_completes(server: ServedApp) -> None:
    """azure_semantic_vad with end-of-utterance detection, as the SDK's models put it on the wire, is accepted and
    read back, and a spoken question is answered. How soon a complete-sounding turn ends is the unit tests' (on the
    audio clock, `tests/unit/realtime_server/test_semantic_turns.py`): here the recogniser's partial text depends
    on how busy the machine is, so the caller leaves the full silence."""
    async with voicelive_connect(
        endpoint=server.base_url, credential=AzureKeyCredential(KEY), model="gpt-4o-realtime"
    ) as conn:
        events = conn.__aiter__()
        await collect_until(events, "session.created")
        await conn.session.update(
            session=RequestSession(
                instructions="You are the Contoso Bank concierge.",
                input_audio_format="pcm16",
                input_audio_sampling_rate=24000,
                turn_detection=AzureSemanticVad(
                    silence_duration_ms=1500,
                    end_of_utterance_detection=AzureSemanticDetection(timeout_ms=2500),
                    remove_filler_words=True,
                ),
                input_audio_transcription=AudioInputTranscriptionOptions(model="azure-speech"),
                tools=[FunctionTool(**tool) for tool in concierge_tools()],
            )
        )
        updated = await collect_until(events, "session.updated")
        detection = updated[-1].session.turn_detection
        assert detection.type == "azure_semantic_vad"
        assert detection.end_of_utterance_detection.timeout_ms == 2500

        question = chunks_20ms(await speech("what is my checking balance"), 24000)
        for chunk in question:
            await conn.input_audio_buffer.append(audio=chunk)
        await paced(conn.input_audio_buffer.append, chunks_20ms(bytes(48000 * 3), 24000))  # 3 s of silence
        turn = await collect_until(events, "response.done")
        kinds = [e.type for e in turn]
        assert kinds.index("input_audio_buffer.speech_started") < kinds.index(
            "input_audio_buffer.speech_stopped"
        )
        assert turn[-1].response.status == "completed"


# --- 2. the openai SDK (GA dialect) ------------------------------------------------------------------------
async def test_openai_ga_client_conversation_with_text_and_speech_turns(server: ServedApp) -> None:
    client = AsyncOpenAI(
        api_key=KEY, base_url=f"{server.base_url}/v1", websocket_base_url=f"ws://127.0.0.1:{server.port}/v1"
    )
    async with client.realtime.connect(model="gpt-realtime") as conn:
        events = conn.__aiter__()
        created = await collect_until(events, "session.created")
        assert created[-1].session.type == "realtime"
        await conn.session.update(
            session={
                "type": "realtime",
                "instructions": "You are the Contoso Bank concierge.",
                "output_modalities": ["audio"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "turn_detection": {"type": "server_vad", "silence_duration_ms": 500},
                        "transcription": {"model": "whisper-1"},
                        "noise_reduction": {"type": "near_field"},
                    },
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"},
                },
                "tools": concierge_tools(),  # type: ignore[typeddict-item]
            }
        )
        updated = await collect_until(events, "session.updated")
        assert updated[-1].session.audio.input.turn_detection.silence_duration_ms == 500

        # Turn 1: text in, a function call out, its result in, a spoken answer out.
        await conn.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": VERIFY}]}
        )
        added = await collect_until(events, "conversation.item.done")
        assert added[0].type == "conversation.item.added"
        await conn.response.create()
        turn = await collect_until(events, "response.done")
        call = next(e for e in turn if e.type == "response.function_call_arguments.done")
        assert call.name == "verify_identity"
        await conn.conversation.item.create(
            item={"type": "function_call_output", "call_id": call.call_id, "output": VERIFIED_OUTPUT}
        )
        await conn.response.create()
        answer = await collect_until(events, "response.done")
        assert audio_bytes(answer, "response.output_audio.delta") > 0
        assert "verified" in transcript(answer, "response.output_audio_transcript.delta").lower()
        assert answer[-1].response.status == "completed"
        assert answer[-1].response.output[0].content[0].type == "output_audio"

        # Turn 2: speech in (server VAD), a function call out.
        for chunk in chunks_20ms(await speech("what is my checking balance"), 24000) + chunks_20ms(
            bytes(48000), 24000
        ):
            await conn.input_audio_buffer.append(audio=chunk)
        spoken = await collect_until(events, "response.done")
        kinds = [e.type for e in spoken]
        assert "input_audio_buffer.speech_started" in kinds and "input_audio_buffer.speech_stopped" in kinds
        heard = next(e for e in spoken if e.type == "conversation.item.input_audio_transcription.completed")
        assert "balance" in heard.transcript.lower()
        call = next(e for e in spoken if e.type == "response.function_call_arguments.done")
        assert call.name == "get_balance"
        assert spoken[-1].response.status == "completed"


def agent_tools(agent: str) -> list[dict[str, Any]]:
    return [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
        for t in load_registry().tools_for(agent, "banking")
    ]


async def test_discrete_handoff_gets_the_new_agents_answer_to_the_last_utterance(server: ServedApp) -> None:
    client = AsyncOpenAI(
        api_key=KEY, base_url=f"{server.base_url}/v1", websocket_base_url=f"ws://127.0.0.1:{server.port}/v1"
    )
    async with client.realtime.connect(model="gpt-realtime") as conn:
        events = conn.__aiter__()
        await collect_until(events, "session.created")
        await conn.session.update(session={"type": "realtime", "tools": agent_tools("concierge")})  # type: ignore[typeddict-item]
        await collect_until(events, "session.updated")
        await conn.conversation.item.create(
            item={
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "I lost my card"}],
            }
        )
        await conn.response.create()
        turn = await collect_until(events, "response.done")
        call = next(e for e in turn if e.type == "response.function_call_arguments.done")
        assert call.name.startswith("handoff")
        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"handoff_to": "card_services", "type": "discrete"}),
            }
        )
        await conn.session.update(session={"type": "realtime", "tools": agent_tools("card_services")})  # type: ignore[typeddict-item]
        await collect_until(events, "session.updated")
        await conn.response.create()
        answer = await collect_until(events, "response.done")
        said = transcript(answer, "response.output_audio_transcript.delta")
        calls = [e.name for e in answer if e.type == "response.function_call_arguments.done"]
        assert said or calls, "the new agent answered nothing"
        assert not any(name.startswith("handoff") for name in calls)


async def test_manual_turns_at_16khz_with_g711_output(server: ServedApp) -> None:
    url = f"ws://127.0.0.1:{server.port}/v1/realtime?model=m"
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "realtime=v1"}
    ) as ws:

        async def until(kind: str) -> list[dict[str, Any]]:
            seen: list[dict[str, Any]] = []
            while not seen or seen[-1]["type"] != kind:
                seen.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
            return seen

        await until("session.created")
        update = {
            "turn_detection": None,
            "input_audio_sampling_rate": 16000,
            "output_audio_format": "g711_ulaw",
            "input_audio_transcription": {"model": "whisper-1"},
            "tools": concierge_tools(),
        }
        await ws.send(json.dumps({"type": "session.update", "session": update}))
        await until("session.updated")
        for chunk in chunks_20ms(await speech("what is my savings balance", 16000), 16000):
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        await ws.send(json.dumps({"type": "input_audio_buffer.commit"}))
        await ws.send(json.dumps({"type": "response.create"}))
        events = await until("response.done")
        kinds = [e["type"] for e in events]
        assert "input_audio_buffer.speech_started" not in kinds
        assert kinds.index("input_audio_buffer.committed") < kinds.index("response.created")
        heard = next(
            e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"
        )
        assert "balance" in heard["transcript"]
        assert events[-1]["response"]["status"] == "completed"
        await ws.send(json.dumps({"type": "input_audio_buffer.commit", "event_id": "empty"}))
        error = (await until("error"))[-1]
        assert error["error"]["event_id"] == "empty"
        greeting = {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Hello there."}],
        }
        await ws.send(
            json.dumps({"type": "response.create", "response": {"pre_generated_assistant_message": greeting}})
        )
        spoken = await until("response.done")
        ulaw = b"".join(base64.b64decode(e["delta"]) for e in spoken if e["type"] == "response.audio.delta")
        assert len(ulaw) > 8000 // 4  # G.711: one byte per 8 kHz sample


# --- 3. barge-in -------------------------------------------------------------------------------------------
async def test_speech_during_a_response_cancels_it(server: ServedApp) -> None:
    async with voicelive_connect(
        endpoint=server.base_url, credential=AzureKeyCredential(KEY), model="m"
    ) as conn:
        events = conn.__aiter__()
        await collect_until(events, "session.created")
        long_text = " ".join(["This is a long announcement that keeps on going for quite a while."] * 12)
        await conn.response.create(
            response={
                "pre_generated_assistant_message": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "text", "text": long_text}],
                }
            }
        )
        started = await collect_until(events, "response.audio.delta")
        assert started[-1].type == "response.audio.delta"
        for chunk in chunks_20ms(await speech("hello there, stop please"), 24000):
            await conn.input_audio_buffer.append(audio=chunk)
        rest = await collect_until(events, "response.done")
        kinds = [e.type for e in rest]
        assert "input_audio_buffer.speech_started" in kinds
        assert rest[-1].response.status == "cancelled"


async def test_openai_ga_client_semantic_vad_honours_eagerness(server: ServedApp) -> None:
    """The GA client's semantic_vad and its eagerness reach the session and end a spoken turn (how soon
    depends on the recogniser's words and the model: unit-tested in tests/unit/realtime_server)."""
    client = AsyncOpenAI(
        api_key=KEY, base_url=f"{server.base_url}/v1", websocket_base_url=f"ws://127.0.0.1:{server.port}/v1"
    )
    async with client.realtime.connect(model="gpt-realtime") as conn:
        events = conn.__aiter__()
        await collect_until(events, "session.created")
        await conn.session.update(
            session={
                "type": "realtime",
                "output_modalities": ["audio"],
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "turn_detection": {"type": "semantic_vad", "eagerness": "high"},
                    }
                },
                "tools": concierge_tools(),  # type: ignore[typeddict-item]
            }
        )
        updated = await collect_until(events, "session.updated")
        detection = updated[-1].session.audio.input.turn_detection
        assert detection.type == "semantic_vad" and detection.eagerness == "high"
        for chunk in chunks_20ms(await speech("what is my checking balance"), 24000):
            await conn.input_audio_buffer.append(audio=chunk)
        await paced(conn.input_audio_buffer.append, chunks_20ms(bytes(57600), 24000))  # 1.2 s of silence
        stopped = await collect_until(events, "input_audio_buffer.speech_stopped")
        assert stopped[-1].type == "input_audio_buffer.speech_stopped"


# --- 4. bad input and credentials -----------------------------------------------------------------------------
async def test_bad_input_gets_error_events_and_the_session_carries_on(server: ServedApp) -> None:
    url = f"ws://127.0.0.1:{server.port}/voice-live/realtime?api-version=2025-10-01"
    async with websockets.connect(url, additional_headers={"api-key": KEY}) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "session.created"
        bad = [
            "{not json",
            json.dumps({"type": "no.such.event", "event_id": "e1"}),
            json.dumps({"type": "input_audio_buffer.append", "audio": "***", "event_id": "e2"}),
            json.dumps({"type": "response.cancel", "event_id": "e3"}),
            json.dumps(
                {
                    "type": "session.update",
                    "session": {"turn_detection": {"threshold": "high"}},
                    "event_id": "e4",
                }
            ),
            json.dumps(
                {"type": "conversation.item.truncate", "item_id": "nope", "audio_end_ms": 5, "event_id": "e5"}
            ),
        ]
        for message in bad:
            await ws.send(message)
        await ws.send(b"\x00\x01")
        errors = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(len(bad) + 1)]
        assert [e["type"] for e in errors] == ["error"] * (len(bad) + 1)
        assert [e["error"]["event_id"] for e in errors[1:6]] == ["e1", "e2", "e3", "e4", "e5"]
        await ws.send(json.dumps({"type": "session.update", "session": {"instructions": "still here"}}))
        updated = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert updated["type"] == "session.updated"
        assert updated["session"]["instructions"] == "still here"


async def test_wrong_key_is_refused_before_any_session(server: ServedApp) -> None:
    url = f"ws://127.0.0.1:{server.port}/voice-live/realtime"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, additional_headers={"api-key": "wrong"}):
            pass
    assert refused.value.response.status_code in (401, 403)
    with pytest.raises(Exception, match="403"):  # the SDK's own ConnectionError
        async with voicelive_connect(endpoint=server.base_url, credential=AzureKeyCredential("wrong")):
            pass


async def test_client_secrets_open_sessions_until_they_expire_or_are_tampered(server: ServedApp) -> None:
    from apps.realtime_server.protocol import RealtimeSessionConfig

    signer = ClientSecretSigner(SIGNING_KEY)
    secret, _ = signer.issue(60, RealtimeSessionConfig(instructions="minted"))
    url = f"ws://127.0.0.1:{server.port}/v1/realtime?model=gpt-realtime"
    async with websockets.connect(url, subprotocols=["realtime", f"openai-insecure-api-key.{secret}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "realtime"
        created = json.loads(await ws.recv())
        assert created["session"]["instructions"] == "minted"
        assert created["session"]["type"] == "realtime"
    expired = ClientSecretSigner(SIGNING_KEY, clock=lambda: 0.0).issue(60)[0]
    tampered = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
    for bad in (expired, tampered):
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {bad}"}):
                pass


async def test_health(server: ServedApp) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        assert (await http.get("/health")).status_code == 200
