"""Call recordings and post-call summaries, end to end through the ACS simulator on embedded defaults.

A scenario with `recording: both` (a copy of banking on its own number, from AGENTS_DIR) says so in its
greeting and leaves a stereo Ogg Opus file: the caller on the left, the agent on the right as the caller heard
it (silent after a barge-in cut), on the call's timeline, streamed to admins only; with Blob Storage configured
(Azurite here) it is kept in the container. A scenario with recording off leaves nothing. Every call gets a
post-call summary (the embedded summariser here) with its disposition and reason.
"""

from __future__ import annotations

import io
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
import yaml
from azure.storage.blob.aio import BlobServiceClient

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import Say, WaitForAgent, WaitForAgentStart
from apps.acs_simulator.server import AcsSimulator
from registries.loader import SHIPPED_SCENARIOS
from tests.azurite_server import AzuriteBlobServer, unavailable_reason
from tests.e2e.calls import BANKING, describe, transcript_of
from tests.support import Backend, eventually, running_backend

pytestmark = pytest.mark.e2e

RECORDED = "+18005550111"
CONSENT = "This call is recorded so we can check our service."
IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."


def recorded_banking(agents_dir: Path, mode: str = "both") -> None:
    spec = yaml.safe_load((SHIPPED_SCENARIOS / "banking.yaml").read_text())
    spec.update(name="banking_recorded", phone_numbers=[RECORDED], recording=mode, recording_consent=CONSENT)
    (agents_dir / "scenarios").mkdir(parents=True)
    (agents_dir / "scenarios" / "banking_recorded.yaml").write_text(yaml.safe_dump(spec))


def decode(ogg: bytes) -> tuple[int, int, np.ndarray]:
    """(channels, sample rate, samples as float channels x n)."""
    with av.open(io.BytesIO(ogg)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.layout.nb_channels
        rate = stream.codec_context.sample_rate
        frames = [frame.to_ndarray() for frame in container.decode(stream)]
    return channels, rate, np.concatenate(frames, axis=1)


def rms(samples: np.ndarray, rate: int, start_s: float, end_s: float) -> float:
    window = samples[int(start_s * rate) : int(end_s * rate)]
    assert len(window) > 0
    return float(np.sqrt(np.mean(np.square(window.astype(np.float64)))))


async def fetch(backend: Backend, path: str, *, status: int = 200) -> bytes | None:
    async with backend.admin() as admin:
        response = await admin.get(path)
    return response.content if response.status_code == status else None


async def test_a_recorded_call_is_stereo_on_the_call_timeline_and_summarised(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    recorded_banking(tmp_path / "agents")
    recordings = tmp_path / "recordings"
    async with running_backend(
        simulator, agents_dir=tmp_path / "agents", recordings_dir=recordings, idle_reprompt_seconds=30
    ) as backend:
        cut_in_line = "What's my checking balance?"
        script = [
            WaitForAgent(turn_gap_s=1.5),  # the greeting and its consent sentence, however slow the TTS
            Say(IDENTITY),
            WaitForAgent(),
            Say("What are my recent transactions?"),  # a long list, read out
            WaitForAgentStart(after_ms=2000),
            Say(cut_in_line),  # talks over the list two seconds in
            WaitForAgent(),
        ]
        result = await simulator.place_call(backend.url, script, to_number=RECORDED, max_duration_s=60)
        call_id = result.call_connection_id
        transcript = await transcript_of(backend, call_id)
        assert transcript.scenario == "banking_recorded"
        greeting = transcript.turns[0]
        assert (greeting.full_text or greeting.text).endswith(CONSENT), describe(transcript)
        assert any(t.interrupted for t in transcript.turns), describe(transcript)

        ogg = await eventually(lambda: fetch(backend, f"/api/v1/calls/{call_id}/recording"), timeout=20)
        assert ogg.startswith(b"OggS")
        async with httpx.AsyncClient(base_url=backend.url) as anonymous:  # admin-only, even when it exists
            for headers in ({}, {"x-api-key": "not-the-admin-key"}):
                for what in ("recording", "summary"):
                    refused = await anonymous.get(f"/api/v1/calls/{call_id}/{what}", headers=headers)
                    assert refused.status_code == 401 and b"OggS" not in refused.content, refused.text
        channels, rate, samples = decode(ogg)
        assert channels == 2
        caller, agent = samples[0], samples[1]
        media_s = result.frames_sent * 0.020  # the caller's frames span the call's media
        assert abs(len(caller) / rate - media_s) <= 0.5, (len(caller) / rate, media_s)

        origin = result.timeline.first(tl.MEDIA_CONNECTED)
        assert origin is not None
        stop = result.timeline.of(tl.STOP_AUDIO_RECEIVED)[-1]
        cut_s = (stop.t_ms - origin.t_ms) / 1000
        speaking = rms(agent, rate, cut_s - 1.2, cut_s - 0.3)
        after_cut = rms(agent, rate, cut_s + 0.2, cut_s + 0.9)  # the caller is still talking over it
        assert speaking > 0.02 and after_cut < speaking / 20, (speaking, after_cut)

        said = result.timeline.of(tl.CALLER_SPEECH_START)[0]  # the identity line
        said_s = (said.t_ms - origin.t_ms) / 1000
        caller_speech = rms(caller, rate, said_s + 0.3, said_s + 2.0)
        caller_quiet = rms(caller, rate, 0.2, 1.5)  # the greeting: only the agent speaks
        agent_greeting = rms(agent, rate, 0.2, 1.5)
        assert caller_speech > 0.02 and caller_quiet < caller_speech / 20, (caller_speech, caller_quiet)
        assert agent_greeting > 0.02

        summary = await eventually(lambda: summary_of(backend, call_id), timeout=20)
        assert summary["disposition"] == "resolved", summary
        assert summary["reason"] == "Get recent transactions", summary
        assert summary["source"] == "embedded" and summary["end_reason"] == "caller hung up", summary
        assert summary["follow_ups"] == [], summary


async def summary_of(backend: Backend, call_id: str) -> dict[str, object] | None:
    async with backend.admin() as admin:
        response = await admin.get(f"/api/v1/calls/{call_id}/summary")
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


async def test_recording_off_keeps_nothing_and_an_abandoned_call_says_so(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    recordings = tmp_path / "recordings"
    async with running_backend(simulator, recordings_dir=recordings) as backend:
        result = await simulator.place_call(
            backend.url, [WaitForAgent()], to_number=BANKING, max_duration_s=30
        )
        call_id = result.call_connection_id
        transcript = await transcript_of(backend, call_id)
        assert "recorded" not in transcript.turns[0].text, describe(transcript)
        summary = await eventually(lambda: summary_of(backend, call_id), timeout=20)
        assert summary["disposition"] == "abandoned", summary
        assert await fetch(backend, f"/api/v1/calls/{call_id}/recording", status=404) is not None
    assert [p for p in recordings.rglob("*") if p.is_file()] == []


async def test_with_blob_storage_configured_the_recording_is_kept_in_the_container_and_streamed_from_it(
    simulator: AcsSimulator, tmp_path: Path
) -> None:
    if (reason := unavailable_reason()) is not None:
        pytest.skip(reason)
    recorded_banking(tmp_path / "agents")
    recordings = tmp_path / "recordings"
    async with (
        AzuriteBlobServer() as azurite,
        running_backend(
            simulator,
            agents_dir=tmp_path / "agents",
            recordings_dir=recordings,
            recordings_blob_connection_string=azurite.connection_string,
            recordings_blob_container="call-recordings",
        ) as backend,
    ):
        result = await simulator.place_call(
            backend.url, [WaitForAgent(turn_gap_s=1.5)], to_number=RECORDED, max_duration_s=30
        )
        call_id = result.call_connection_id
        ogg = await eventually(lambda: fetch(backend, f"/api/v1/calls/{call_id}/recording"), timeout=20)
        channels, rate, samples = decode(ogg)
        assert channels == 2 and abs(samples.shape[1] / rate - result.frames_sent * 0.020) <= 0.5
        async with backend.admin() as admin:
            ours = (await admin.get(f"/api/v1/calls/{call_id}")).json()["call_id"]
        async with BlobServiceClient.from_connection_string(azurite.connection_string) as blobs:
            container = blobs.get_container_client("call-recordings")
            names = [blob.name async for blob in container.list_blobs()]
            stored = await (await container.download_blob(f"{ours}.ogg")).readall()
        assert names == [f"{ours}.ogg"] and stored == ogg
    assert [p for p in recordings.rglob("*") if p.is_file()] == []  # the local partial file is gone
