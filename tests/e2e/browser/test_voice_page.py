"""A real browser talks to an agent: headless Chromium opens the backend's /voice/ page, its fake microphone
plays a WAV of a caller giving their name and account digits, and the page (WebRTC to the server's aiortc
peer, signaled over the sessions API) shows the caller's words and the agent's answer as they arrive on the
session's events socket; the same events arrive on the data channel."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from apps.acs_simulator.caller_audio import synthesize
from apps.acs_simulator.server import AcsSimulator
from tests.e2e.browser.conftest import chromium_browser, screenshot_path
from tests.e2e.webrtc_session_client import loopback_candidates
from tests.support import ADMIN_KEY, Backend, eventually, running_backend

__all__ = ["loopback_candidates"]

MIC_RATE = 48000
IDENTITY = "My name is Jordan Rivera and the last four of my account are four eight two one."


@pytest.fixture
async def backend(simulator: AcsSimulator, loopback_candidates: None) -> AsyncIterator[Backend]:
    async with running_backend(simulator, webrtc_loopback_candidates=True) as running:
        yield running


async def caller_wav(directory: Path) -> Path:
    """What the fake microphone plays once: a moment of silence, the sentence, then silence to end the turn."""
    speech = await synthesize(IDENTITY, MIC_RATE)
    silence = bytes(MIC_RATE * 2 * 2)  # two seconds
    path = directory / "caller.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(MIC_RATE)
        wav.writeframes(silence + speech + silence + silence)
    return path


async def test_the_voice_page_completes_a_spoken_turn_over_webrtc(backend: Backend, tmp_path: Path) -> None:
    wav = await caller_wav(tmp_path)
    async with chromium_browser(fake_audio=wav) as browser:
        page = await browser.new_page()
        await page.goto(f"{backend.url}/voice/")
        await page.wait_for_function("document.getElementById('status').value.includes('admin key')")
        assert await page.locator("#scenario option").count() == 0  # nothing shown without the key
        await page.fill("#api-key", ADMIN_KEY)
        await page.dispatch_event("#api-key", "change")
        await page.wait_for_selector("#scenario option[value=banking]", state="attached")
        await page.select_option("#scenario", "banking")
        await page.click("#call")

        greeting = page.locator("#transcript li.agent").first
        await greeting.wait_for(timeout=30_000)
        caller = page.locator("#transcript li.caller").first
        await caller.wait_for(timeout=60_000)
        assert "rivera" in (await caller.inner_text()).lower()
        # The agent answers the caller's turn (a reply after it, through the identity tool).
        answer = page.locator("#transcript li.caller ~ li.agent").first
        await answer.wait_for(timeout=30_000)
        await page.screenshot(path=str(screenshot_path("voice-page-call")), full_page=True)

        session_id = await page.evaluate("document.body.dataset.sessionId")
        over_data_channel = await page.evaluate("window.voiceSession().dataChannelMessages")
        assert over_data_channel > 0

        await page.click("#hang-up")
        await page.wait_for_function("document.getElementById('status').value === 'hung up'")

    async with backend.admin() as client:
        transcript = (await client.get(f"/api/v1/calls/{session_id}/transcript")).json()
        record = await eventually(lambda: _ended(client, session_id), timeout=20)
    tools = [call["name"] for turn in transcript["turns"] for call in turn.get("tool_calls", [])]
    assert "verify_identity" in tools, transcript
    assert (record["channel"], record["end_reason"]) == ("webrtc", "browser left")


async def _ended(client: Any, session_id: str) -> dict[str, Any] | None:
    record: dict[str, Any] = (await client.get(f"/api/v1/sessions/{session_id}")).json()
    return record if record["status"] == "ended" else None
