"""The Whisper final pass's pool (bounded, cancellation-aware), its choice and fallback when the model wheel is
missing, and the embedded session keeping pocketsphinx's text when the final pass gives none. No model is
loaded here (`_job` is replaced); tests/integration/test_whisper_stt.py runs the real one."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from registries.loader import load_registry
from voice.stt import final_pass as final_pass_module
from voice.stt.base import SttConfig
from voice.stt.final_pass import PoolSize, WhisperFinalPass, shared_final_pass
from voice.stt.local import LocalSpeechToText
from voice.stt.phrases import scenario_phrases
from voice.stt.whisper_model import WhisperLoop, WhisperResult
from voice.tts.local import EspeakTts


class GatedPass(WhisperFinalPass):
    """Each job waits for `gate`, counts itself, and answers `text` (or raises `error`)."""

    def __init__(self, size: PoolSize, text: str = "I lost my card", error: Exception | None = None) -> None:
        super().__init__(Path("/nonexistent"), size)
        self.gate = threading.Event()
        self.started = 0
        self.text = text
        self.error = error

    def _job(self, pcm16k: bytes, prompt: str) -> WhisperResult:
        self.started += 1
        self.gate.wait(5)
        if self.error is not None:
            raise self.error
        return WhisperResult(self.text, -0.1, 0.01)


AUDIO = bytes(16_000 * 2)  # 1 s


def test_pool_size_follows_the_machine() -> None:
    assert PoolSize.for_machine(cpus=2) == PoolSize(workers=1, threads=2, queue=4)
    assert PoolSize.for_machine(cpus=8, queue=2) == PoolSize(workers=4, threads=2, queue=2)
    assert PoolSize.for_machine(cpus=1) == PoolSize(workers=1, threads=1, queue=4)
    assert PoolSize.for_machine(workers=3, cpus=2) == PoolSize(workers=3, threads=1, queue=4)


async def test_a_full_pool_refuses_at_once_instead_of_queueing() -> None:
    final = GatedPass(PoolSize(workers=1, threads=1, queue=1))
    try:
        running = asyncio.ensure_future(final.transcribe(AUDIO, ()))
        waiting = asyncio.ensure_future(final.transcribe(AUDIO, ()))
        await asyncio.sleep(0.05)
        assert await final.transcribe(AUDIO, ()) is None  # a third turn: workers + queue are taken
        assert final.rejected == 1
        final.gate.set()
        results = await asyncio.gather(running, waiting)
        assert [r.text if r else None for r in results] == ["I lost my card"] * 2
        assert await final.transcribe(AUDIO, ()) is not None  # room again
    finally:
        final.gate.set()
        final.close()


async def test_a_cancelled_turn_waiting_for_the_pool_never_runs() -> None:
    final = GatedPass(PoolSize(workers=1, threads=1, queue=2))
    try:
        running = asyncio.ensure_future(final.transcribe(AUDIO, ()))
        queued = asyncio.ensure_future(final.transcribe(AUDIO, ()))
        await asyncio.sleep(0.05)
        queued.cancel()
        await asyncio.sleep(0)
        final.gate.set()
        await running
        with pytest.raises(asyncio.CancelledError):
            await queued
        await asyncio.sleep(0.05)
        assert final.started == 1
        assert await final.transcribe(AUDIO, ()) is not None  # its place in the pool was given back
    finally:
        final.gate.set()
        final.close()


async def test_numbers_come_back_as_words_and_loops_are_refused() -> None:
    final = GatedPass(PoolSize(1, 1, 0), text="It ends in 4821, $300.")
    final.gate.set()
    try:
        result = await final.transcribe(AUDIO, ())
        assert result is not None
        assert result.text == "It ends in four eight two one, three hundred dollars."
        assert result.written == "It ends in 4821, $300."
        final.error = WhisperLoop("again and again")
        assert await final.transcribe(AUDIO, ()) is None
        assert await final.transcribe(bytes(31 * 16_000 * 2), ()) is None  # longer than Whisper's 30 s
    finally:
        final.close()


async def test_a_model_that_cannot_load_is_not_retried_on_every_turn(tmp_path: Path) -> None:
    final = WhisperFinalPass(tmp_path, PoolSize(1, 1, 0))  # an empty directory: no model.bin
    try:
        with pytest.raises(RuntimeError):
            await final.warm()
        assert final.broken is not None
        assert await final.transcribe(AUDIO, ()) is None
    finally:
        final.close()


async def test_a_turn_cancelled_while_whisper_runs_holds_its_place_until_the_thread_is_free() -> None:
    final = GatedPass(PoolSize(workers=1, threads=1, queue=0))
    try:
        running = asyncio.ensure_future(final.transcribe(AUDIO, ()))
        await asyncio.sleep(0.05)
        assert final.started == 1
        running.cancel()
        await asyncio.sleep(0)
        assert await final.transcribe(AUDIO, ()) is None  # the thread is still busy with it
        final.gate.set()
        for _ in range(100):
            if final.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert await final.transcribe(AUDIO, ()) is not None
    finally:
        final.gate.set()
        final.close()


def test_missing_model_falls_back_to_pocketsphinx_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(final_pass_module, "find_model_dir", lambda: None)
    with caplog.at_level(logging.INFO, logger=final_pass_module.__name__):
        assert shared_final_pass("whisper") is None
        assert shared_final_pass("pocketsphinx") is None
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert messages[0][0] == logging.WARNING and "not installed" in messages[0][1]
    assert "LOCAL_STT_FINAL=pocketsphinx" in messages[1][1]


def test_an_installed_model_is_found_and_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(final_pass_module, "find_model_dir", lambda: tmp_path)
    first = shared_final_pass("whisper", PoolSize(1, 1, 0))
    try:
        assert first is not None and first.model_dir == tmp_path and not first.loaded
        assert shared_final_pass("whisper", PoolSize(1, 1, 0)) is first
    finally:
        assert first is not None
        first.close()
        final_pass_module._shared.clear()


@pytest.mark.parametrize("failure", ["busy", "error"])
async def test_the_session_keeps_pocketsphinxs_text_when_the_final_pass_gives_none(failure: str) -> None:
    phrases = scenario_phrases(load_registry(), "banking")
    final = GatedPass(PoolSize(1, 1, 0), error=RuntimeError("boom") if failure == "error" else None)
    final.gate.set()
    if failure == "busy":
        final._admit()  # the only worker is taken
    stt = LocalSpeechToText(final_pass=final)
    session = await stt.open_session(SttConfig(16_000, phrases=phrases, call_id="t"))
    try:
        pad = bytes(16_000 * 3 // 10 * 2)
        session.push(pad + await EspeakTts().synthesize("what's my balance", sample_rate=16_000) + pad)
        heard = await session.end_of_turn()
        assert "balance" in heard.text.split()
        assert final.started == (1 if failure == "error" else 0)
    finally:
        await session.aclose()
        final.close()


async def test_the_final_pass_text_is_the_turns_text_and_closing_fails_a_pending_turn() -> None:
    phrases = scenario_phrases(load_registry(), "banking")
    final = GatedPass(PoolSize(1, 1, 0), text="I'd like my savings balance, account 4821.")
    stt = LocalSpeechToText(final_pass=final)
    session = await stt.open_session(SttConfig(16_000, phrases=phrases, call_id="t"))
    try:
        session.push(bytes(16_000))
        final.gate.set()
        heard = await session.end_of_turn()
        assert heard.text == "I'd like my savings balance, account four eight two one."
        final.gate.clear()
        session.push(bytes(16_000))
        pending = asyncio.ensure_future(session.end_of_turn())
        await asyncio.sleep(0.2)
        await session.aclose()
        with pytest.raises(Exception, match="closed"):
            await pending
    finally:
        final.gate.set()
        await session.aclose()
        final.close()


async def test_a_warm_up_started_early_is_waited_for_not_repeated(tmp_path: Path) -> None:
    final = WhisperFinalPass(tmp_path, PoolSize(1, 1, 0))  # no model: the warm-up fails, once
    try:
        started = final.start_warming()
        assert final.start_warming() is started
        with pytest.raises(RuntimeError):
            await final.warm()
        assert final.start_warming() is started  # a failed load is not retried by a later warm-up
    finally:
        final.close()


class RecordingPass(GatedPass):
    """Answers the length (in samples) of the audio each job was given, and keeps them."""

    def __init__(self) -> None:
        super().__init__(PoolSize(1, 1, 0))
        self.gate.set()
        self.lengths: list[int] = []

    def _job(self, pcm16k: bytes, prompt: str) -> WhisperResult:
        self.lengths.append(len(pcm16k) // 2)
        return WhisperResult(f"heard {len(self.lengths)}", -0.1, 0.01)


async def test_a_turn_the_caller_went_on_with_is_read_whole_by_the_final_pass() -> None:
    """Early at a pause the stretch is read alone; after `continue_turn` Whisper reads everything since the turn
    began, once, and says so (`whole_turn`), so the listener replaces the carried words instead of adding to
    them. A turn that does not continue is read alone again."""
    final = RecordingPass()
    stt = LocalSpeechToText(final_pass=final)
    session = await stt.open_session(SttConfig(16_000, phrases=("four eight two one",), call_id="t"))
    try:
        session.push(bytes(16_000 * 2))  # 1 s: "my account ends in"
        first = await session.end_of_turn()
        assert not first.whole_turn
        session.continue_turn()
        session.push(bytes(8_000 * 2))  # 0.5 s: "four eight two one"
        second = await session.end_of_turn()
        assert second.whole_turn
        session.continue_turn()
        session.push(bytes(8_000 * 2))  # the caller went on once more: the whole 2 s
        third = await session.end_of_turn()
        assert third.whole_turn
        session.push(bytes(8_000 * 2))  # a new turn: alone
        fourth = await session.end_of_turn()
        assert not fourth.whole_turn
        one, half = final.lengths[0], final.lengths[3]
        assert 15_000 < one < 17_000 and 7_000 < half < 9_000
        assert final.lengths[1] == one + half and final.lengths[2] == one + 2 * half
    finally:
        await session.aclose()
        final.close()


async def test_continuing_while_the_turn_is_still_open_reads_it_once() -> None:
    """The cascade went on before it ever asked for the stretch's text: the audio is one open turn already."""
    final = RecordingPass()
    stt = LocalSpeechToText(final_pass=final)
    session = await stt.open_session(SttConfig(16_000, phrases=("four eight two one",), call_id="t"))
    try:
        session.push(bytes(16_000 * 2))
        await session.end_of_turn()
        session.push(bytes(16_000 * 2))
        session.continue_turn()
        session.push(bytes(8_000 * 2))
        heard = await session.end_of_turn()
        assert not heard.whole_turn and final.lengths[1] - final.lengths[0] == 8_000
    finally:
        await session.aclose()
        final.close()


async def test_the_final_text_repairs_an_identifiers_letters_from_the_scenarios_prefixes() -> None:
    final = GatedPass(PoolSize(1, 1, 0), text="The policy is the U 482913.")
    final.gate.set()
    try:
        heard = await final.transcribe(AUDIO, ("my policy number is A U 4 8 2 9 1 3",))
        assert heard is not None
        assert heard.text == "The policy is A U four eight two nine one three."
        assert heard.written == "The policy is the U 482913."
    finally:
        final.close()


async def test_punctuation_alone_is_no_final_text() -> None:
    """Whisper wrote "," for a spoken policy number: the session keeps pocketsphinx's words instead."""
    final = GatedPass(PoolSize(1, 1, 0), text=",")
    final.gate.set()
    try:
        assert await final.transcribe(AUDIO, ()) is None
        final.text = ""
        silent = await final.transcribe(AUDIO, ())
        assert silent is not None and silent.text == ""  # no speech stays no speech
    finally:
        final.close()


async def test_the_final_text_takes_pocketsphinxs_digits_when_only_their_length_fits() -> None:
    final = GatedPass(PoolSize(1, 1, 0), text="Marcus Chen, 66400.")
    final.gate.set()
    try:
        heard = await final.transcribe(AUDIO, ("my account ends in 4821",), "marcus chen six six four zero")
        assert heard is not None and heard.text == "Marcus Chen, six six four zero."
        alone = await final.transcribe(AUDIO, ("my account ends in 4821",))
        assert alone is not None and alone.text == "Marcus Chen, six six four zero zero."
    finally:
        final.close()
