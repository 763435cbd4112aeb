"""Real simulated calls with the backend on its Azure path: Azure Speech (STT + TTS) and Azure OpenAI, both
pointed at loopback fakes that speak the real wire protocols (the real Speech SDK and `openai` SDK are used).

The embedded providers stay in every chain behind Azure: when Azure fails mid-call, the local brain or the
embedded recogniser takes the turn and the call goes on.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from apps.acs_simulator.caller_audio import Say, WaitForAgent
from apps.acs_simulator.inbound import CallResult
from apps.acs_simulator.server import AcsSimulator
from tests.fakes.azure_speech_service import AzureSpeechService
from tests.fakes.openai_server import ErrorTurn, FakeOpenAIServer, ScriptedCall, TextTurn, ToolCallsTurn
from tests.support import Backend, eventually, running_backend

SPEECH_KEY = "test-speech-key-0123456789"
OPENAI_KEY = "test-openai-key-0123456789"
VOICE = "en-US-JennyNeural"  # a voice the Speech fake knows, and not the SDK's or the settings' default
BANKING_NUMBER = "+18005550100"
TONE_HZ = 440.0  # what the Speech fake synthesizes
SSML_NS = "{http://www.w3.org/2001/10/synthesis}"

VERIFY_THEN_BALANCE = (
    "My name is Jordan Rivera and my account ends in four eight two one.",
    "What is my checking balance?",
)
"""What the caller says on the Azure path calls (the fake recogniser answers with VERIFY_SAID, BALANCE_SAID)."""
VERIFY_SAID = "my name is Jordan Rivera and my account ends in 4821"
BALANCE_SAID = "what's my checking balance"
VERIFIED_REPLY = "Thanks Jordan, you're verified. What can I do for you?"
BALANCE_REPLY = "Your checking balance is two thousand four hundred fifty dollars and seventy five cents."
AZURE_MUST_NOT_HEAR = "this text comes from the broken azure recogniser"
JORDAN_CHECKING_CENTS = 245075  # the demo dataset's balance of Jordan Rivera's checking account 4821


@pytest.fixture
async def speech() -> AsyncIterator[AzureSpeechService]:
    # Short synthesized tones keep the calls short (the caller hears them in real time).
    async with AzureSpeechService(key=SPEECH_KEY, ms_per_character=12, tone_hz=TONE_HZ) as service:
        yield service


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=OPENAI_KEY) as server:
        yield server


def azure_settings(speech: AzureSpeechService, openai_fake: FakeOpenAIServer) -> dict[str, Any]:
    return {
        "azure_speech_key": SPEECH_KEY,
        "azure_speech_host": speech.host,
        "azure_speech_voice": VOICE,
        "azure_openai_endpoint": openai_fake.azure_endpoint,
        "azure_openai_api_key": OPENAI_KEY,
        "azure_openai_deployment": "gpt-4o-mini",
        # Unmasked: these calls check what Azure recognised and the tools returned (masking: test_pii_redaction).
        "redact_transcripts": False,
    }


async def place_call(simulator: AcsSimulator, backend: Backend, *says: str) -> CallResult:
    """The caller waits for the greeting, then says each line after the agent has answered the previous."""
    script: list[Any] = [WaitForAgent(start_timeout_s=15.0)]
    for text in says:
        script += [Say(text), WaitForAgent(start_timeout_s=15.0)]
    return await simulator.place_call(
        backend.url, script, to_number=BANKING_NUMBER, hang_up_after_silence_s=0.5, max_duration_s=45
    )


async def transcript(backend: Backend, call_id: str) -> dict[str, Any]:
    """The transcript once the call has ended (its outcome is written at the end)."""

    async def ended() -> dict[str, Any] | None:
        async with backend.admin() as admin:
            response = await admin.get(f"/api/v1/calls/{call_id}/transcript")
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body if body["outcome"] is not None else None

    return await eventually(ended, timeout=15)


def synthesized(speech: AzureSpeechService) -> list[tuple[str | None, str]]:
    """(voice, text) of every SSML request the Speech fake received, parsed from the SSML itself."""
    spoken = []
    for record in speech.syntheses:
        root = ET.fromstring(record.ssml)
        voice = root.find(f"{SSML_NS}voice")
        assert voice is not None, record.ssml
        spoken.append((voice.get("name"), " ".join("".join(voice.itertext()).split())))
    return spoken


def assert_spoken_by_azure(speech: AzureSpeechService, *texts: str) -> None:
    said = " ".join(text for _, text in synthesized(speech))
    for text in texts:
        assert " ".join(text.split()) in said, (text, said)


def dominant_hz(pcm: bytes, sample_rate: int) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / sample_rate)[int(np.argmax(spectrum[1:])) + 1])


def agent_turns(body: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [t for t in body["turns"] if t["speaker"] == "agent" and (kind is None or t["kind"] == kind)]


def caller_turns(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in body["turns"] if t["speaker"] == "caller"]


def assert_caller_hung_up(result: CallResult) -> None:
    """The call was not dropped: media ran to the end and it was the caller who hung up."""
    assert result.media_connected, result.media_error
    assert result.script_error is None, result.script_error
    assert result.hung_up_by == "caller", (result.hung_up_by, result.end_reason)
    assert result.end_reason == "script done, agent silent", result.end_reason


# ---------------------------------------------------------------------------------------------------------


async def test_a_banking_call_runs_on_azure_speech_and_azure_openai(
    simulator: AcsSimulator, speech: AzureSpeechService, openai_fake: FakeOpenAIServer
) -> None:
    speech.script(VERIFY_SAID, BALANCE_SAID)
    openai_fake.script(
        ToolCallsTurn(
            [
                ScriptedCall(
                    "verify_identity",
                    {"full_name": "Jordan Rivera", "account_last4": "4821"},
                    id="call_verify",
                )
            ]
        ),
        TextTurn(VERIFIED_REPLY),
        ToolCallsTurn([ScriptedCall("get_balance", {"account_type": "checking"}, id="call_balance")]),
        TextTurn(BALANCE_REPLY),
    )
    async with running_backend(simulator, **azure_settings(speech, openai_fake)) as backend:
        result = await place_call(simulator, backend, *VERIFY_THEN_BALANCE)
        assert_caller_hung_up(result)
        body = await transcript(backend, result.call_connection_id)

    assert body["scenario"] == "banking"
    turns = body["turns"]
    # The caller's turns carry what Azure recognised.
    assert [t["text"] for t in caller_turns(body)] == [VERIFY_SAID, BALANCE_SAID], turns
    assert all(t["kind"] == "speech" and t["agent"] == "concierge" for t in caller_turns(body))

    # The greeting, then one reply per caller turn, each with the tool the model called and its real result.
    greeting = agent_turns(body, "greeting")
    assert len(greeting) == 1 and greeting[0]["text"].startswith("Thank you for calling Contoso Bank")
    replies = agent_turns(body, "reply")
    assert [r["text"] for r in replies] == [VERIFIED_REPLY, BALANCE_REPLY], turns
    assert all(r["agent"] == "concierge" and not r["interrupted"] for r in replies)
    verify = replies[0]["tool_calls"]
    assert [(c["id"], c["name"], c["ok"]) for c in verify] == [("call_verify", "verify_identity", True)]
    assert verify[0]["arguments"] == {"full_name": "Jordan Rivera", "account_last4": "4821"}
    assert verify[0]["output"] == {"verified": True, "first_name": "Jordan"}
    balance = replies[1]["tool_calls"]
    assert [(c["id"], c["name"], c["ok"]) for c in balance] == [("call_balance", "get_balance", True)]
    assert balance[0]["output"]["account_type"] == "checking"
    assert balance[0]["output"]["balance_cents"] == JORDAN_CHECKING_CENTS
    # Every reply measured where its time went.
    for reply in replies:
        latency = reply["latency"]
        assert latency is not None, reply
        for part in ("end_of_turn_ms", "stt_final_ms", "llm_first_token_ms", "tools_ms", "response_ms"):
            assert latency[part] is not None and latency[part] >= 0, (part, latency)
        assert latency["tts_first_audio_ms"] is not None, latency

    # Azure TTS spoke everything, greeting included, in the configured voice (the agent names none).
    assert {voice for voice, _ in synthesized(speech)} == {VOICE}, synthesized(speech)
    assert_spoken_by_azure(speech, greeting[0]["text"], *(r["text"] for r in replies))
    assert all(record.completed for record in speech.syntheses)
    # What the caller heard is Azure's audio (the fake's 440 Hz tone), not espeak's.
    assert dominant_hz(result.agent_pcm, result.sample_rate) == pytest.approx(TONE_HZ, abs=5)

    # Azure recognised the call's audio with the scenario's phrase list.
    recognition = speech.recognitions[0]
    assert recognition.headers["Ocp-Apim-Subscription-Key"] == SPEECH_KEY
    assert any("balance" in phrase.lower() for phrase in recognition.phrases), recognition.phrases
    assert recognition.sample_rate == result.sample_rate == 16000
    # The fake's segmentation may close an empty segment on trailing line noise when the machine is busy: what
    # matters is that both caller lines were recognised, in order, and nothing else was said.
    assert [text for text in recognition.phrases_sent if text] == [VERIFY_SAID, BALANCE_SAID]

    # Four chat requests on the Azure route, each with the agent's tool schemas.
    requests = conversation_requests(openai_fake)
    assert len(requests) == 4, [r.path for r in requests]
    assert all(r.path == "/openai/deployments/gpt-4o-mini/chat/completions" for r in requests)
    assert all(r.headers.get("api-key") == OPENAI_KEY and r.status == 200 for r in requests)
    first = requests[0].body
    assert first is not None and first.stream
    tool_names = {t.function.name for t in first.tools or []}
    assert {"verify_identity", "get_balance", "end_call"} <= tool_names, tool_names
    schema = next(t.function for t in first.tools or [] if t.function.name == "verify_identity")
    assert schema.parameters is not None and "full_name" in schema.parameters["properties"]
    assert first.messages[0].role == "system"
    assert first.messages[-1].role == "user" and first.messages[-1].content == VERIFY_SAID

    # The second request carries the model's tool call and the tool's result for it.
    second = requests[1].body
    assert second is not None
    asked = [m for m in second.messages if m.role == "assistant" and m.tool_calls]
    assert [c.function.name for c in asked[-1].tool_calls or []] == ["verify_identity"]
    tool_messages = [m for m in second.messages if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == ["call_verify"]
    assert isinstance(tool_messages[0].content, str) and "Jordan" in tool_messages[0].content
    # The balance round sees the whole conversation so far, and the balance tool's result.
    fourth = requests[3].body
    assert fourth is not None
    assert [m.tool_call_id for m in fourth.messages if m.role == "tool"] == ["call_verify", "call_balance"]
    assert "245075" in str(fourth.messages[-1].content) or "2,450.75" in str(fourth.messages[-1].content)
    contents = [m.content for m in fourth.messages if m.role in ("user", "assistant") and m.content]
    assert VERIFY_SAID in contents and VERIFIED_REPLY in contents and BALANCE_SAID in contents, contents


async def test_a_failed_chat_request_is_answered_by_the_local_brain_and_the_call_goes_on(
    simulator: AcsSimulator, speech: AzureSpeechService, openai_fake: FakeOpenAIServer
) -> None:
    speech.script(VERIFY_SAID, BALANCE_SAID)
    openai_fake.script(ErrorTurn(500, message="The server had an error while processing your request."))
    async with running_backend(simulator, **azure_settings(speech, openai_fake)) as backend:
        result = await place_call(simulator, backend, *VERIFY_THEN_BALANCE)
        assert_caller_hung_up(result)
        body = await transcript(backend, result.call_connection_id)

    # Azure OpenAI was asked once and failed; the local brain took that turn and (Azure being benched for
    # a while) the next one: every caller turn got a real reply, none an apology.
    asked = conversation_requests(openai_fake)
    assert len(asked) == 1 and asked[0].status == 500
    assert [t["text"] for t in caller_turns(body)] == [VERIFY_SAID, BALANCE_SAID], body["turns"]
    assert not agent_turns(body, "apology"), body["turns"]
    replies = agent_turns(body, "reply")
    assert len(replies) == 2, body["turns"]
    assert all(r["text"].strip() for r in replies), replies
    # The local brain used the same tools, against the same demo data.
    assert [(c["name"], c["ok"]) for c in replies[0]["tool_calls"]] == [("verify_identity", True)], replies
    assert [(c["name"], c["ok"]) for c in replies[1]["tool_calls"]] == [("get_balance", True)], replies
    assert replies[1]["tool_calls"][0]["output"]["balance_cents"] == JORDAN_CHECKING_CENTS
    # ... and its words were still spoken by Azure TTS.
    assert_spoken_by_azure(speech, *(r["text"] for r in replies))


async def test_azure_recognition_failing_mid_call_falls_back_to_the_embedded_recogniser(
    simulator: AcsSimulator, speech: AzureSpeechService, openai_fake: FakeOpenAIServer
) -> None:
    # What Azure would say for the second turn, if it still recognised anything: it must not.
    speech.script(VERIFY_SAID, AZURE_MUST_NOT_HEAR)
    openai_fake.script(
        TextTurn("Thanks Jordan. What else can I do for you?"),
        TextTurn("Sure, let me help you with that."),
    )

    async def break_after_first_turn() -> None:
        # Once the first turn is over (recognised, and the model asked about it), Azure recognition fails.
        await eventually(lambda: openai_fake.requests, timeout=40)
        # 1007 (like a quota error) makes the SDK give up at once instead of reconnecting.
        speech.break_recognition(1007, "Quota exceeded.")

    async with running_backend(simulator, **azure_settings(speech, openai_fake)) as backend:
        breaker = asyncio.create_task(break_after_first_turn())
        try:
            result = await place_call(simulator, backend, *VERIFY_THEN_BALANCE)
        finally:
            breaker.cancel()
        assert_caller_hung_up(result)
        body = await transcript(backend, result.call_connection_id)

    turns = body["turns"]
    callers = caller_turns(body)
    assert callers[0]["text"] == VERIFY_SAID, turns
    # The second turn was recognised by pocketsphinx (approximately) from the same audio: the caller did
    # not have to repeat it, and the model got it.
    assert len(callers) == 2, turns
    second_text = callers[1]["text"].lower()
    assert second_text and second_text != AZURE_MUST_NOT_HEAR.lower(), turns
    asked = conversation_requests(openai_fake)
    assert len(asked) == 2, turns
    last = asked[1].body
    assert last is not None and last.messages[-1].content == callers[1]["text"]
    replies = agent_turns(body, "reply")
    assert [r["text"] for r in replies] == [
        "Thanks Jordan. What else can I do for you?",
        "Sure, let me help you with that.",
    ], turns
    # Azure recognised the first turn only.
    assert [text for r in speech.recognitions for text in r.phrases_sent] == [VERIFY_SAID]


def conversation_requests(openai_fake: Any) -> list[Any]:
    """The chat requests of the conversation itself: the post-call summary (its own structured-output request,
    `response_format` set) goes to the same deployment after the call and is not part of what is counted."""
    return [r for r in openai_fake.requests if not (isinstance(r.raw, dict) and "response_format" in r.raw)]
