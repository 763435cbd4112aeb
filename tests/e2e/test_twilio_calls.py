"""Phone calls over the second carrier, Twilio Media Streams, end to end: the simulated Twilio signs and posts the
incoming-call webhook, follows the TwiML `<Connect><Stream>` and talks mu-law at 8 kHz over the stream, with marks
and clear. The same banking scenario runs unchanged; a webhook without a valid signature creates no call. A cold
transfer redirects the live call through the simulated REST API (a warm-transfer scenario goes cold on Twilio).
"""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import pytest_asyncio

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import Say, WaitForAgent, WaitForAgentStart
from apps.acs_simulator.cli import main as call_main
from apps.acs_simulator.server import AcsSimulator
from apps.twilio_simulator.phone import VOICE_PATH, place_twilio_call
from apps.twilio_simulator.rest_api import RestRequest, TwilioRestApi
from apps.twilio_simulator.stream import REDIRECTED, TwilioStream
from tests.e2e.calls import (
    BANKING,
    HUMAN_QUEUE,
    agent_turns,
    caller_turns,
    describe,
    tools_called,
    transcript_of,
)
from tests.e2e.test_recording_and_summary import CONSENT, RECORDED, decode, fetch, recorded_banking
from tests.e2e.test_warm_transfer import SCENARIO as WARM_SCENARIO
from tests.e2e.test_warm_transfer import WARM_LINE
from tests.support import Backend, eventually, running_backend

pytestmark = pytest.mark.e2e

AUTH_TOKEN = "twilio-test-auth-token-0123456789abcdef"
# Narrowband (8 kHz mu-law) speech is harder for the embedded recogniser than the ACS tests' 16 kHz: these
# phrasings are ones it hears right at 8 kHz (see the report of issue 22 for the comparison).
IDENTITY = "My name is Jordan Rivera, account ending in four eight two one."
BALANCE = "What's my balance?"
# "Can I talk to a real person please?" (the ACS tests' line) is misheard at 8 kHz; this one is heard right.
ASK_FOR_A_PERSON = [WaitForAgent(), Say("Transfer me to a human agent."), WaitForAgent(timeout_s=20)]


@pytest_asyncio.fixture
async def backend(simulator: AcsSimulator) -> AsyncIterator[Backend]:
    async with running_backend(simulator, twilio_auth_token=AUTH_TOKEN) as running:
        yield running


async def _record(backend: Backend, any_id: str) -> dict:
    async with backend.admin() as admin:
        response = await admin.get(f"/api/v1/calls/{any_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _call_count(backend: Backend) -> int:
    async with backend.admin() as admin:
        response = await admin.get("/api/v1/calls")
    assert response.status_code == 200, response.text
    return len(response.json()["calls"])


async def test_a_twilio_call_completes_the_banking_conversation(backend: Backend) -> None:
    script = [
        WaitForAgent(),
        Say(IDENTITY),
        WaitForAgent(),
        Say(BALANCE),
        WaitForAgent(),
    ]
    result = await place_twilio_call(backend.url, script, auth_token=AUTH_TOKEN, to_number=BANKING)

    assert result.webhook_status == 200, result.webhook_body
    assert result.stream is not None
    assert result.stream.url == backend.settings.websocket_base_url + "/api/v1/twilio/media"
    assert set(result.stream.parameters) == {"token"}
    assert result.script_error is None and result.hung_up_by == "caller"
    samples = np.frombuffer(result.agent_pcm, dtype="<i2").astype(np.float64)
    assert samples.size and float(np.sqrt(np.mean(samples**2))) > 300  # speech reached the caller at 8 kHz
    assert result.marks_echoed  # the backend marked its audio and heard the marks back

    transcript = await transcript_of(backend, result.call_sid)
    assert transcript.scenario == "banking"
    assert agent_turns(transcript)[0].text.startswith("Thank you for calling Contoso Bank"), describe(
        transcript
    )
    assert tools_called(transcript) == [("verify_identity", True), ("get_balance", True)], describe(
        transcript
    )
    heard = [t.text.lower() for t in caller_turns(transcript)]
    assert len(heard) == 2 and "rivera" in heard[0] and "balance" in heard[1], describe(transcript)
    assert "balance" in agent_turns(transcript)[-1].text.lower(), describe(transcript)
    assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"

    async def ended() -> dict | None:
        record = await _record(backend, result.call_sid)
        return record if record["status"] == "ended" else None

    record = await eventually(ended)
    assert record["carrier"] == "twilio" and record["carrier_call_id"] == result.call_sid
    assert record["channel"] == "phone" and record["caller"] == "+14255550123" and record["callee"] == BANKING
    assert record["audio_sample_rate"] == backend.settings.acs_audio_format.sample_rate
    assert record["connected_at"] and record["end_reason"] == "caller hung up"


async def test_barge_in_sends_clear(backend: Backend) -> None:
    script = [WaitForAgentStart(after_ms=1200), Say(BALANCE), WaitForAgent()]
    result = await place_twilio_call(backend.url, script, auth_token=AUTH_TOKEN, to_number=BANKING)
    assert result.webhook_status == 200, result.webhook_body
    assert result.clears >= 1, result.timeline.format_table()
    assert result.timeline.of(tl.STOP_AUDIO_RECEIVED)
    transcript = await transcript_of(backend, result.call_sid)
    greeting = agent_turns(transcript)[0]
    assert greeting.kind == "greeting" and greeting.interrupted, describe(transcript)


@pytest.mark.parametrize(
    ("signature", "signed_url", "reason"),
    [
        ("", None, "missing X-Twilio-Signature"),
        ("bm90IGEgc2lnbmF0dXJl", None, "X-Twilio-Signature does not match"),
        (None, "http://attacker.example/api/v1/twilio/voice", "X-Twilio-Signature does not match"),
    ],
    ids=["missing", "bad", "wrong-url"],
)
async def test_a_webhook_without_a_valid_signature_is_refused_and_creates_no_call(
    backend: Backend, signature: str | None, signed_url: str | None, reason: str
) -> None:
    result = await place_twilio_call(
        backend.url, [], auth_token=AUTH_TOKEN, signature=signature, signed_url=signed_url
    )
    assert result.webhook_status == 403 and reason in result.webhook_body
    assert await _call_count(backend) == 0


async def test_a_webhook_signed_with_another_token_is_refused(backend: Backend) -> None:
    result = await place_twilio_call(backend.url, [], auth_token="another-account-token-00000000")
    assert result.webhook_status == 403
    assert await _call_count(backend) == 0


async def test_without_an_auth_token_the_webhook_fails_closed(simulator: AcsSimulator) -> None:
    async with running_backend(simulator) as backend:
        result = await place_twilio_call(backend.url, [], auth_token=AUTH_TOKEN)
        assert result.webhook_status == 503 and "TWILIO_AUTH_TOKEN" in result.webhook_body
        assert await _call_count(backend) == 0


async def test_a_stream_with_a_forged_token_is_closed_before_any_audio(backend: Backend) -> None:
    timeline = tl.Timeline()
    stream = TwilioStream(
        backend.settings.websocket_base_url + "/api/v1/twilio/media",
        call_sid="CA" + "0" * 32,
        account_sid="AC" + "0" * 32,
        parameters={"token": "forged.token"},
        timeline=timeline,
    )
    await stream.connect()
    try:
        await eventually(stream.closed_by_backend.is_set)
    finally:
        await stream.hang_up()
    assert stream.close_code == 1008 and "media token" in stream.close_reason
    assert stream.playout.recording.count(0) == len(stream.playout.recording)  # no agent audio at all
    assert VOICE_PATH == "/api/v1/twilio/voice"


async def test_switchboard_call_carrier_twilio_records_the_greeting(
    backend: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "agent.wav"
    argv = ["--backend", backend.url, "--carrier", "twilio", "--twilio-auth-token", AUTH_TOKEN]
    argv += ["--to", BANKING, "--out", str(out), "--hangup-after-silence", "1"]
    code = await asyncio.to_thread(call_main, argv)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "twilio call CA" in printed and "stream connected" in printed
    with wave.open(str(out), "rb") as wav:
        assert wav.getframerate() == 8000 and wav.getnchannels() == 1
        assert wav.getnframes() > 2 * 8000  # the greeting, heard at 8 kHz


async def test_a_twilio_call_to_a_caller_only_recorded_scenario_leaves_a_mono_recording(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    recorded_banking(tmp_path / "agents", mode="caller")
    async with running_backend(
        simulator,
        twilio_auth_token=AUTH_TOKEN,
        agents_dir=tmp_path / "agents",
        recordings_dir=tmp_path / "recordings",
    ) as backend:
        script = [WaitForAgent(turn_gap_s=1.5), Say(BALANCE), WaitForAgent()]
        result = await place_twilio_call(backend.url, script, auth_token=AUTH_TOKEN, to_number=RECORDED)
        assert result.webhook_status == 200 and result.script_error is None, result.webhook_body
        transcript = await transcript_of(backend, result.call_sid)
        greeting = agent_turns(transcript)[0]
        assert (greeting.full_text or greeting.text).endswith(CONSENT), describe(transcript)

        ogg = await eventually(
            lambda: fetch(backend, f"/api/v1/calls/{result.call_sid}/recording"), timeout=20
        )
        channels, rate, samples = decode(ogg)
        assert channels == 1  # the caller only: no agent channel at all
        media_s = len(result.agent_pcm) / 2 / 8000  # the simulator plays one 20 ms frame per media message
        assert abs(samples.shape[1] / rate - media_s) <= 0.5, (samples.shape[1] / rate, media_s)
        window = rate // 5  # the caller's question is in it; the greeting (the agent alone) is not
        levels = [
            float(np.sqrt(np.mean(np.square(samples[0, i : i + window]))))
            for i in range(0, samples.shape[1] - window, window)
        ]
        assert levels[0] < 0.005 and max(levels) > 0.02, levels


def _warm_banking(agents_dir: Path) -> None:
    """The warm-transfer banking line of test_warm_transfer: over Twilio its transfers go cold, to its queue."""
    (agents_dir / "scenarios").mkdir(parents=True)
    (agents_dir / "scenarios" / "banking_warm.yaml").write_text(WARM_SCENARIO)


async def test_a_twilio_caller_asking_for_a_person_is_redirected_to_the_scenarios_queue(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    _warm_banking(tmp_path)
    async with (
        TwilioRestApi(auth_token=AUTH_TOKEN) as twilio,
        running_backend(
            simulator,
            twilio_auth_token=AUTH_TOKEN,
            twilio_account_sid=twilio.account_sid,
            twilio_api_base=twilio.base_url,
            agents_dir=tmp_path,
        ) as backend,
    ):
        assert backend.settings.transfer_target_number is None  # the scenario's queue is the only one
        result = await place_twilio_call(
            backend.url, ASK_FOR_A_PERSON, auth_token=AUTH_TOKEN, to_number=WARM_LINE, rest_api=twilio
        )
        assert result.webhook_status == 200 and result.script_error is None, result.webhook_body

        # Twilio was asked, with the account's credentials, to leave the stream and <Dial> the queue.
        path = f"/2010-04-01/Accounts/{twilio.account_sid}/Calls/{result.call_sid}.json"
        assert twilio.requests == [RestRequest("POST", path, 200)]
        assert [(r.call_sid, r.dialed) for r in twilio.redirects] == [(result.call_sid, HUMAN_QUEUE)]
        assert result.hung_up_by == "redirect" and result.redirect_twiml == twilio.redirects[0].twiml

        # The caller heard the agent say so before the stream ended.
        transcript = await transcript_of(backend, result.call_sid)
        assert tools_called(transcript) == [("transfer_to_human", True)], describe(transcript)
        assert "connecting you" in agent_turns(transcript)[-1].text, describe(transcript)
        assert transcript.outcome is not None and transcript.outcome.reason == "transferred to a human"
        asked = result.timeline.of(tl.CALLER_SPEECH_END)[-1].t_ms
        redirected = result.timeline.first(REDIRECTED)
        assert redirected is not None
        told = [e for e in result.timeline.of(tl.AGENT_AUDIO_START) if asked < e.t_ms < redirected.t_ms]
        assert told, result.timeline.format_table()

        async def ended() -> dict | None:
            record = await _record(backend, result.call_sid)
            return record if record["status"] == "ended" else None

        record = await eventually(ended)
        assert record["end_reason"] == "transferred to a human"
        assert "transfer_requested" in [e["type"] for e in record["events"]]


async def test_without_a_twilio_account_sid_the_agent_says_it_cannot_transfer(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    _warm_banking(tmp_path)
    async with (
        TwilioRestApi(auth_token=AUTH_TOKEN) as twilio,
        running_backend(
            simulator, twilio_auth_token=AUTH_TOKEN, twilio_api_base=twilio.base_url, agents_dir=tmp_path
        ) as backend,
    ):
        result = await place_twilio_call(
            backend.url,
            ASK_FOR_A_PERSON,
            auth_token=AUTH_TOKEN,
            to_number=WARM_LINE,
            rest_api=twilio,
            hang_up_after_silence_s=1.0,
        )
        assert result.webhook_status == 200 and result.script_error is None, result.webhook_body
        assert twilio.requests == [] and result.hung_up_by == "caller"
        transcript = await transcript_of(backend, result.call_sid)
        assert tools_called(transcript) == [("transfer_to_human", True)], describe(transcript)
        assert "can't transfer" in agent_turns(transcript)[-1].text, describe(transcript)
        assert transcript.outcome is not None and transcript.outcome.reason == "caller hung up"


async def test_the_simulated_rest_api_checks_basic_auth_and_the_call() -> None:
    async with TwilioRestApi(auth_token=AUTH_TOKEN) as twilio:
        url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Calls/CA{'0' * 32}.json"
        form = {"Twiml": "<Response><Dial>+18005550199</Dial></Response>"}
        async with httpx.AsyncClient() as http:
            no_auth = await http.post(url, data=form)
            wrong = await http.post(url, data=form, auth=(twilio.account_sid, "not-the-token"))
            unknown_call = await http.post(url, data=form, auth=(twilio.account_sid, AUTH_TOKEN))
    assert (no_auth.status_code, no_auth.json()["code"]) == (401, 20003)
    assert wrong.status_code == 401
    assert (unknown_call.status_code, unknown_call.json()["code"]) == (404, 20404)
    assert twilio.redirects == []
