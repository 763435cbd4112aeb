"""Semantic end of turn: how the signals combine into a verdict, how long each verdict waits, and the tracker's
events around a pause (score it, start early, the caller went on, the turn is over)."""

import asyncio

import pytest

from voice.audio.turn_end import ScoreThresholds, TurnSignals, Verdict, silence_needed_ms, verdict
from voice.audio.turns import (
    TurnEnded,
    TurnLikelyEnded,
    TurnPaused,
    TurnPolicy,
    TurnResumed,
    TurnStarted,
    TurnTracker,
)
from voice.speech_cascade.turn_judge import TurnJudge
from voice.speech_cascade.unfinished import sounds_clearly_unfinished, sounds_complete, sounds_unfinished

from .test_turns import run, windows

POLICY = TurnPolicy(
    mode="semantic",
    end_of_turn_silence_ms=608,
    unfinished_hold_ms=704,
    min_silence_ms=192,
    score_after_ms=64,
    speculate_after_ms=96,
)


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (TurnSignals(), Verdict.UNKNOWN),
        (TurnSignals(score=0.9), Verdict.COMPLETE),
        (TurnSignals(score=0.5), Verdict.COMPLETE),
        (TurnSignals(score=0.35), Verdict.UNKNOWN),
        (TurnSignals(score=0.05), Verdict.UNKNOWN),  # a low score alone is no proof (see ScoreThresholds)
        (TurnSignals(words_complete=True), Verdict.COMPLETE),
        (TurnSignals(words_unfinished=True), Verdict.INCOMPLETE),
        # unfinished words win over a confident model: "my account number is" is not a turn
        (TurnSignals(score=0.95, words_unfinished=True), Verdict.INCOMPLETE),
        # complete words win over an unsure or doubtful model
        (TurnSignals(score=0.35, words_complete=True), Verdict.COMPLETE),
        (TurnSignals(score=0.05, words_complete=True), Verdict.COMPLETE),
        # a complete turn that ends on a number read out waits a little longer; an unsure one is unchanged
        (TurnSignals(words_complete=True, words_end_in_number=True), Verdict.COMPLETE_NUMBER),
        (TurnSignals(score=0.9, words_end_in_number=True), Verdict.COMPLETE_NUMBER),
        (TurnSignals(words_end_in_number=True), Verdict.UNKNOWN),
        (TurnSignals(score=0.9, words_unfinished=True, words_end_in_number=True), Verdict.INCOMPLETE),
    ],
)
def test_signals_combine_into_a_verdict(signals: TurnSignals, expected: Verdict) -> None:
    assert verdict(signals) is expected


def test_a_low_score_means_unfinished_once_a_threshold_is_set() -> None:
    trusting = ScoreThresholds(incomplete_below=0.2)
    assert verdict(TurnSignals(score=0.05), trusting) is Verdict.INCOMPLETE
    assert verdict(TurnSignals(score=0.05, words_complete=True), trusting) is Verdict.COMPLETE
    assert verdict(TurnSignals(score=0.3), trusting) is Verdict.UNKNOWN


def test_thresholds_move_the_model_boundaries() -> None:
    strict = ScoreThresholds(complete_at=0.8, incomplete_below=0.4)
    assert verdict(TurnSignals(score=0.7), strict) is Verdict.UNKNOWN
    assert verdict(TurnSignals(score=0.3), strict) is Verdict.INCOMPLETE
    assert verdict(TurnSignals(score=0.8), strict) is Verdict.COMPLETE


def test_each_verdict_waits_its_own_silence() -> None:
    waits = {
        v: silence_needed_ms(
            v,
            min_silence_ms=200,
            end_of_turn_silence_ms=600,
            unfinished_hold_ms=700,
            number_end_silence_ms=400,
        )
        for v in Verdict
    }
    assert waits == {
        Verdict.COMPLETE: 200,
        Verdict.COMPLETE_NUMBER: 400,
        Verdict.UNKNOWN: 600,
        Verdict.INCOMPLETE: 1300,
    }


@pytest.mark.parametrize(
    ("number_end", "expected"),
    [(0, 300), (250, 300), (400, 400), (900, 600)],  # never under the complete wait, nor over the unsure one
)
def test_a_complete_turn_ending_on_a_number_waits_between_the_complete_and_unsure_silences(
    number_end: int, expected: int
) -> None:
    waited = silence_needed_ms(
        Verdict.COMPLETE_NUMBER,
        min_silence_ms=300,
        end_of_turn_silence_ms=600,
        unfinished_hold_ms=700,
        number_end_silence_ms=number_end,
    )
    assert waited == expected


@pytest.mark.parametrize(
    ("text", "complete", "unfinished"),
    [
        ("what is my checking balance", True, False),
        ("can you tell me my savings balance", True, False),
        ("yes", True, False),
        ("that's all thanks", True, False),
        ("my account number is", False, True),
        ("my account ends in", False, True),
        ("i would like to", False, True),
        ("my name is jordan rivera", False, False),  # could go on ("... and my account is"): neither
        ("", False, False),
    ],
)
def test_the_words_read_as_complete_or_unfinished(text: str, complete: bool, unfinished: bool) -> None:
    assert sounds_complete(text) is complete
    assert sounds_unfinished(text) is unfinished


@pytest.mark.parametrize(
    ("text", "clearly"),
    [
        ("i filed a claim and i want to know where it's a", False),  # "at" still coming in
        ("we had a small kitchen fire on november twenty a", False),
        ("can you tell me the", False),
        ("i'd like to check my savings or", False),
        ("my account number is", True),  # an open phrase is never a fragment
        ("and the last four digits are", True),
        ("my name is jordan rivera and", True),
        ("can you tell me my", True),
        ("i was born on", True),
    ],
)
def test_a_last_word_that_may_be_a_fragment_alone_is_no_clear_sign(text: str, clearly: bool) -> None:
    assert sounds_unfinished(text)
    assert sounds_clearly_unfinished(text) is clearly


async def test_the_cascade_judges_a_fragment_last_word_by_the_model() -> None:
    """The partial "... where it's a" (for "where it's at") no longer holds a turn the model calls complete."""
    from tests.unit.cascade.fakes import ScriptedStt
    from voice.speech_cascade.listening import CallerListener

    listener = CallerListener(ScriptedStt([]), call_id="c")
    await listener.open(sample_rate=16000, languages=["en-US"])
    judge = TurnJudge(
        FixedScorer(0.98),
        words_unfinished=listener.sounds_clearly_unfinished,
        words_complete=listener.sounds_complete,
    )
    judge.open(16000)
    listener.turn_started()
    judge.turn_started()
    for _ in range(50):
        judge.hear(bytes(640))
    listener._on_partial("i wanted to know where it's a")
    judge.paused()
    await asyncio.sleep(0.01)
    assert judge.verdict() is Verdict.COMPLETE
    listener._on_partial("i wanted to know where it's at and my")
    assert judge.verdict() is Verdict.INCOMPLETE  # "my": the caller is not done


def _tracker(judged: Verdict) -> TurnTracker:
    tracker = TurnTracker(POLICY)
    tracker.judge = lambda: judged
    return tracker


def _silence_of(events: list[object]) -> int:
    ended = [e for e in events if isinstance(e, TurnEnded)]
    assert len(ended) == 1
    return ended[0].silence_ms


@pytest.mark.parametrize(
    ("judged", "silence_ms"), [(Verdict.COMPLETE, 192), (Verdict.UNKNOWN, 608), (Verdict.INCOMPLETE, 1312)]
)
def test_a_pause_ends_the_turn_after_the_silence_its_verdict_needs(judged: Verdict, silence_ms: int) -> None:
    tracker = _tracker(judged)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(1600), agent_active=False)
    assert events[0] == TurnStarted(0)
    assert _silence_of(events) == silence_ms


def test_a_pause_is_scored_then_started_early_then_ended() -> None:
    tracker = _tracker(Verdict.UNKNOWN)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(640), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnPaused, TurnLikelyEnded, TurnEnded]
    assert events[1] == TurnPaused(960) and events[2] == TurnLikelyEnded(960)


def test_unfinished_words_are_scored_but_not_started_early() -> None:
    tracker = _tracker(Verdict.INCOMPLETE)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(640), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnPaused]


def test_the_caller_going_on_after_a_pause_resumes_the_same_turn() -> None:
    tracker = _tracker(Verdict.INCOMPLETE)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(480), agent_active=False)
    events += run(tracker, [0.9] * windows(640), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnPaused, TurnResumed]
    tracker.judge = lambda: Verdict.COMPLETE
    events = run(tracker, [0.05] * windows(320), agent_active=False)
    assert [type(e) for e in events] == [TurnPaused, TurnLikelyEnded, TurnEnded]
    assert events[-1].speech_ms == 960 + 480 + 640  # one turn, the pause inside it


def test_a_verdict_that_changes_during_the_pause_ends_the_turn_then() -> None:
    tracker = _tracker(Verdict.UNKNOWN)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(320), agent_active=False)
    assert TurnEnded not in [type(e) for e in events]
    tracker.judge = lambda: Verdict.COMPLETE  # the model's score came in
    events = run(tracker, [0.05], agent_active=False)
    assert [type(e) for e in events] == [TurnEnded]
    assert events[0].silence_ms == 352


def test_a_short_dip_inside_speech_is_not_a_pause() -> None:
    tracker = _tracker(Verdict.COMPLETE)
    events = run(tracker, [0.9] * windows(640) + [0.05] + [0.9] * windows(640), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted]


def test_fixed_mode_ignores_the_judge() -> None:
    tracker = TurnTracker(TurnPolicy(end_of_turn_silence_ms=608))
    tracker.judge = lambda: Verdict.COMPLETE
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(640), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnEnded]
    assert _silence_of(events) == 608


class FixedScorer:
    """A model that answers `score` for every turn, counting what it was asked."""

    def __init__(self, score: float | None) -> None:
        self.value = score
        self.asked: list[int] = []

    async def score(self, pcm: bytes, sample_rate: int) -> float | None:
        self.asked.append(len(pcm))
        await asyncio.sleep(0)
        return self.value


async def _judged(scorer: FixedScorer, *, unfinished: bool = False, complete: bool = False) -> Verdict:
    judge = TurnJudge(scorer, words_unfinished=lambda: unfinished, words_complete=lambda: complete)
    judge.open(16000)
    judge.turn_started()
    for _ in range(50):
        judge.hear(bytes(640))  # one second of a turn
    words_only = verdict(TurnSignals(words_unfinished=unfinished, words_complete=complete))
    assert judge.verdict() is words_only  # nothing scored yet
    judge.paused()
    await asyncio.sleep(0.01)
    return judge.verdict()


@pytest.mark.parametrize(
    ("score", "expected"), [(0.93, Verdict.COMPLETE), (0.5, Verdict.COMPLETE), (0.3, Verdict.UNKNOWN)]
)
async def test_the_judge_uses_the_models_score_once_it_is_in(score: float, expected: Verdict) -> None:
    scorer = FixedScorer(score)
    assert await _judged(scorer) is expected
    assert scorer.asked == [32000]  # the turn's audio so far


async def test_the_judge_keeps_unfinished_words_over_a_confident_model() -> None:
    assert await _judged(FixedScorer(0.97), unfinished=True) is Verdict.INCOMPLETE


async def test_without_a_model_answer_the_words_decide() -> None:
    assert await _judged(FixedScorer(None), complete=True) is Verdict.COMPLETE
    assert await _judged(FixedScorer(None)) is Verdict.UNKNOWN


async def test_the_caller_going_on_drops_the_score() -> None:
    judge = TurnJudge(FixedScorer(0.9), words_unfinished=lambda: False, words_complete=lambda: False)
    judge.turn_started()
    judge.hear(bytes(640))
    judge.paused()
    await asyncio.sleep(0.01)
    assert judge.verdict() is Verdict.COMPLETE
    judge.resumed()
    assert judge.verdict() is Verdict.UNKNOWN


def test_words_that_may_end_on_a_fragment_take_the_fragment_boundary() -> None:
    maybe = TurnSignals(score=0.57, words_maybe_unfinished=True)
    assert verdict(maybe) is Verdict.COMPLETE  # the cascade's default: the model's own boundary
    strict = ScoreThresholds(fragment_complete_at=0.9)
    assert verdict(maybe, strict) is Verdict.UNKNOWN
    assert verdict(TurnSignals(score=0.93, words_maybe_unfinished=True), strict) is Verdict.COMPLETE
    assert verdict(TurnSignals(score=0.57), strict) is Verdict.COMPLETE


class Words:
    """The recogniser's words of a turn as the judge sees them: none yet, or a reading of them."""

    def __init__(self) -> None:
        self.text = ""
        self.unfinished = False
        self.complete = False


def _waiting_judge(scorer: FixedScorer, words: Words) -> TurnJudge:
    judge = TurnJudge(
        scorer,
        words_unfinished=lambda: words.unfinished,
        words_complete=lambda: words.complete,
        words_pending=lambda: not words.text,
    )
    judge.open(16000)
    judge.turn_started()
    for _ in range(50):
        judge.hear(bytes(640))
    return judge


async def test_a_judge_waiting_for_words_scores_only_a_pause_whose_words_are_in_and_undecided() -> None:
    """An early reply needs the words before it can be heard: before they are in, a score shortens nothing,
    and words that finish or leave open the turn decide it whatever the model says."""
    scorer, words = FixedScorer(0.9), Words()
    judge = _waiting_judge(scorer, words)
    judge.paused()
    await asyncio.sleep(0.01)
    assert judge.verdict() is Verdict.UNKNOWN
    assert scorer.asked == []  # no words yet
    words.text, words.complete = "what's my balance", True
    assert judge.verdict() is Verdict.COMPLETE
    await asyncio.sleep(0.01)
    assert scorer.asked == []  # the words decided
    words.text, words.complete = "i would like to", False
    words.unfinished = True
    assert judge.verdict() is Verdict.INCOMPLETE
    await asyncio.sleep(0.01)
    assert scorer.asked == []
    words.text, words.unfinished = "i would like to check the thing", False
    assert judge.verdict() is Verdict.UNKNOWN  # undecided words: the score starts now
    await asyncio.sleep(0.01)
    assert judge.verdict() is Verdict.COMPLETE
    assert scorer.asked == [32000]
    judge.verdict()
    await asyncio.sleep(0.01)
    assert scorer.asked == [32000]  # once per pause


async def test_a_judge_waiting_for_words_scores_at_the_pause_when_they_are_in_and_undecided() -> None:
    scorer, words = FixedScorer(0.9), Words()
    words.text = "i would like to check the thing"
    judge = _waiting_judge(scorer, words)
    judge.paused()
    await asyncio.sleep(0.01)
    assert scorer.asked == [32000]
    assert judge.verdict() is Verdict.COMPLETE
    judge.resumed()  # the caller went on: nothing is scored until the next pause
    judge.hear(bytes(640))
    assert judge.verdict() is Verdict.UNKNOWN
    await asyncio.sleep(0.01)
    assert scorer.asked == [32000]
    judge.paused()
    await asyncio.sleep(0.01)
    assert scorer.asked == [32000, 32640]


async def test_the_cascades_judge_waits_for_words_only_when_replies_start_early() -> None:
    from bench.frame_path import SilentHost
    from tests.unit.cascade.fakes import ScriptedStt
    from voice.audio.turns import TurnPolicy
    from voice.speech_cascade.listening import CallerListener
    from voice.speech_cascade.turn_taking import TurnTaking
    from voice.telemetry import NO_TELEMETRY

    listener = CallerListener(ScriptedStt([]), call_id="c")
    await listener.open(sample_rate=16000, languages=["en-US"])
    policy = TurnPolicy(mode="semantic", speculate_after_ms=96)
    taking = TurnTaking(policy, listener, None, SilentHost(), NO_TELEMETRY)
    assert taking._words_pending()
    listener._on_partial("what's my")
    assert not taking._words_pending()
    taking.tracker.set_policy(TurnPolicy(mode="semantic", speculate_after_ms=0))
    listener._on_partial("")
    assert not taking._words_pending()  # a reply that starts at the turn end: the score is wanted at once


def test_an_idle_call_keeps_only_the_preroll() -> None:
    judge = TurnJudge(FixedScorer(0.9), words_unfinished=lambda: False, words_complete=lambda: False)
    judge.open(16000)
    for _ in range(500):  # ten seconds of nobody talking
        judge.hear(bytes(640))
    assert judge._bytes <= 16000 * 2 // 2  # half a second


def test_an_early_replys_overhead_counts_the_longer_of_the_wait_and_the_work_begun_within_it() -> None:
    from voice.transcript import TurnLatency

    # Ready before the turn ended: the caller waited for the silence only.
    ready = TurnLatency(end_of_turn_ms=224, early_start_ms=128, stt_final_ms=20, llm_ms=30, response_ms=230)
    assert ready.overhead_ms == 6
    # Still working when the turn ended: the work, begun 128 ms before, is the critical path.
    busy = TurnLatency(
        end_of_turn_ms=224,
        early_start_ms=128,
        stt_final_ms=150,
        llm_ms=300,
        tts_first_audio_ms=100,
        response_ms=660,
    )
    assert busy.overhead_ms == 660 - (224 - 128 + 550)
    plain = TurnLatency(end_of_turn_ms=600, stt_final_ms=150, response_ms=760)
    assert plain.overhead_ms == 10


def test_a_comma_pause_after_a_number_does_not_end_a_turn_that_sounds_complete_by_default() -> None:
    """Callers (and the neural caller voice: 300-390 ms) pause at commas, and a turn cut there was split when it
    came after a number read out: "the last four are four eight one two, | no wait", "account ending in six six
    four zero, | what's in my checking?". With the service's defaults such a pause starts the reply unheard but
    does not end the turn; a complete turn without a number at its end ends after the shorter pause, and a
    real end of turn after a number still ends it."""
    from registries.loader import load_registry
    from voice.session.config import CallConfig
    from voice.speech_cascade.agent_profile import agent_turn_policy

    snapshot = load_registry()
    agent = snapshot.start_agent("banking")
    policy = agent_turn_policy(agent, CallConfig(turn_end_mode="semantic"))
    after_number = TurnTracker(policy)
    after_number.judge = lambda: Verdict.COMPLETE_NUMBER
    events = run(after_number, [0.9] * windows(960) + [0.05] * windows(384), agent_active=False)
    assert TurnLikelyEnded in [type(e) for e in events] and TurnEnded not in [type(e) for e in events]
    events = run(after_number, [0.9] * windows(640) + [0.05] * windows(640), agent_active=False)
    assert _silence_of(events) == 416  # 400 ms, in whole 32 ms windows

    complete = TurnTracker(policy)
    complete.judge = lambda: Verdict.COMPLETE
    events = run(complete, [0.9] * windows(960) + [0.05] * windows(640), agent_active=False)
    assert _silence_of(events) == 320


def _frames(tracker: TurnTracker, probabilities: list[float], frame_ms: int = 20) -> list[tuple[int, object]]:
    """Feed windows as 20 ms frames deliver them (a window is scored once the frame with its last sample is in);
    after each frame, `advance` with the audio so far. Returns (audio ms at the frame, event) pairs."""
    seen: list[tuple[int, object]] = []
    scored = 0
    audio_ms = 0
    while scored < len(probabilities):
        audio_ms += frame_ms
        while scored < len(probabilities) and (scored + 1) * 32 <= audio_ms:
            seen += [(audio_ms, e) for e in tracker.update(probabilities[scored], agent_active=False)]
            scored += 1
        seen += [(audio_ms, e) for e in tracker.advance(audio_ms, agent_active=False)]
    return seen


def test_a_long_enough_pause_ends_the_turn_on_the_frame_not_the_window_that_completes_it() -> None:
    policy = TurnPolicy(
        mode="semantic", end_of_turn_silence_ms=608, min_silence_ms=400, speculate_after_ms=96
    )
    tracker = TurnTracker(policy)
    tracker.judge = lambda: Verdict.COMPLETE
    seen = _frames(tracker, [0.9] * windows(960) + [0.05] * windows(640))
    ended = [(at, e) for at, e in seen if isinstance(e, TurnEnded)]
    assert len(ended) == 1  # the window that completes the silence later does not end it again
    at, event = ended[0]
    assert isinstance(event, TurnEnded)
    # Last voiced window ends at 960 ms; 400 ms later is 1360 ms, a frame boundary. Windows alone would end
    # it at 1376 ms (13 whole windows), known only when the frame carrying them arrives at 1380 ms.
    assert (at, event.at_ms, event.silence_ms) == (1360, 960, 400)


def test_advance_waits_the_verdicts_silence_and_leaves_fixed_mode_and_the_agents_turn_alone() -> None:
    tracker = _tracker(Verdict.UNKNOWN)
    seen = _frames(tracker, [0.9] * windows(960) + [0.05] * windows(1000))
    ended = [e for _, e in seen if isinstance(e, TurnEnded)]
    assert [e.silence_ms for e in ended] == [608]  # UNKNOWN waits the fixed silence (608 is on a frame)

    fixed = TurnTracker(TurnPolicy(end_of_turn_silence_ms=600))
    fixed.judge = lambda: Verdict.COMPLETE
    run(fixed, [0.9] * windows(960) + [0.05] * windows(96), agent_active=False)
    assert fixed.advance(960 + 600, agent_active=False) == []

    talking = _tracker(Verdict.COMPLETE)
    run(talking, [0.9] * windows(960) + [0.05] * windows(96), agent_active=False)
    assert talking.advance(960 + 300, agent_active=True) == []
    assert [type(e) for e in talking.advance(960 + 300, agent_active=False)] == [TurnEnded]
    assert talking.advance(960 + 320, agent_active=False) == []  # one turn end per pause


def test_a_pause_is_pending_from_its_first_quiet_window_until_the_turn_ends() -> None:
    tracker = _tracker(Verdict.COMPLETE)
    run(tracker, [0.9] * windows(960), agent_active=False)
    assert not tracker.pause_pending
    run(tracker, [0.05], agent_active=False)
    assert tracker.pause_pending
    run(tracker, [0.05] * windows(192), agent_active=False)
    assert not tracker.pause_pending  # the turn ended
    assert not TurnTracker(TurnPolicy()).pause_pending  # fixed mode never advances


@pytest.mark.parametrize("by_frame", [False, True])
def test_a_caller_going_on_just_before_the_verdicts_silence_is_not_cut(by_frame: bool) -> None:
    """The detector ends speech after `min_silence_ms` (192 here); an unsure turn waits 608. A caller who goes
    on after 544 ms is heard from 1504 ms, but the onset is only confirmed 96 ms later: those loud windows are
    not silence, or the turn would end (at 1568 ms) while the caller is already speaking."""
    tracker = _tracker(Verdict.UNKNOWN)
    probabilities = (
        [0.9] * windows(960) + [0.05] * windows(544) + [0.9] * windows(640) + [0.05] * windows(1000)
    )
    if by_frame:
        events = [e for _, e in _frames(tracker, probabilities)]
    else:
        events = run(tracker, probabilities, agent_active=False)
    ended = [e for e in events if isinstance(e, TurnEnded)]
    assert [type(e) for e in events].count(TurnStarted) == 1 and TurnResumed in [type(e) for e in events]
    assert len(ended) == 1 and ended[0].at_ms == 960 + 544 + 640


async def test_an_early_recognitions_final_text_is_read_for_the_end_of_turn() -> None:
    """The partial stopped short of the last word ("... four eight two"); the early reply's final text has it,
    and the turn then reads complete (on a number) instead of waiting the agent's whole silence."""
    from tests.unit.cascade.fakes import ScriptedStt
    from voice.speech_cascade.listening import CallerListener

    listener = CallerListener(
        ScriptedStt(["the last four of my account are four eight two one"]), call_id="c"
    )
    await listener.open(sample_rate=16000, languages=["en-US"])
    listener.turn_started()
    listener._on_partial("the last four of my account are four eight two")
    assert not listener.sounds_complete()
    listener.turn_ended()  # an early reply: recognition is finalised while the caller is quiet
    await listener.final_text()
    assert listener.sounds_complete() and listener.ends_in_number()
    listener.turn_started()  # the next turn starts from nothing
    assert listener.turn_words == ""


async def test_an_early_final_that_stops_inside_a_number_still_reads_unfinished() -> None:
    """The final text of an early recognition ends on four digits of a six-digit policy number (the caller
    reads it in groups): read instead of the partial, it must not make the turn read complete."""
    from tests.unit.cascade.fakes import ScriptedStt
    from voice.speech_cascade.listening import CallerListener

    listener = CallerListener(
        ScriptedStt(["my policy is A U one one eight eight"]),
        call_id="c",
        phrases=("lookup_policy AU-482913",),
    )
    await listener.open(sample_rate=16000, languages=["en-US"])
    listener.turn_started()
    listener._on_partial("my policy is A U one one")
    listener.turn_ended()
    await listener.final_text()
    assert listener.turn_words == "my policy is A U one one eight eight"
    assert listener.sounds_clearly_unfinished() and not listener.sounds_complete()


@pytest.mark.parametrize(
    ("words", "ends_in_number"),
    [
        ("my account ends in four eight two one", True),
        ("it's marcus chen account ending in sixty-six forty", True),
        ("my policy is AU-482913", True),
        ("what is my checking balance", False),
        ("i'd like option one", False),  # one digit: an answer, not a number read out
        ("", False),
    ],
)
def test_the_listener_tells_words_that_end_on_a_number_read_out(words: str, ends_in_number: bool) -> None:
    from tests.unit.cascade.fakes import ScriptedStt
    from voice.speech_cascade.listening import CallerListener

    listener = CallerListener(ScriptedStt([]), call_id="c")
    listener._on_partial(words)
    assert listener.ends_in_number() is ends_in_number
