"""The embedded guidance engine: tone and checklist accuracy on the labelled set, coaching lines, and live
guidance for a call (reports after caller turns, at most one per interval, off the turn path, cancelled with
the call)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest

from registries.loader import load_registry
from registries.scenariostore.schema import ScenarioSpec
from registries.snapshot import RegistrySnapshot
from tests.support import eventually
from voice.guidance import tone_model
from voice.guidance.engine import EmbeddedGuidance, embedded_report
from voice.guidance.live import LiveGuidance
from voice.guidance.models import TONES, GuidanceReport, GuidanceTurn, ToneReading
from voice.guidance.tone import MAX_CONFIDENCE, _score, classify_tone
from voice.guidance.tone_examples import TONE_EXAMPLES
from voice.transcript import ToolCallRecord, TranscriptTurn

from .heldout import HELDOUT_CHECKLIST, HELDOUT_TONE
from .heldout_calls import HELDOUT_CALLS
from .labelled import CHECKLIST_CASES, TONE_SNIPPETS
from .tone_cv import cross_validate, model_in_use

# The first set (the cue lists' author's) now also trains the embedding model: accuracy on it is a fit.
MIN_TONE_ACCURACY = 0.9
# tone_examples.py (263 snippets, another author), 5-fold cross-validated with the full reader: 183/263 for
# seed 0 (181 and 182 for seeds 1 and 2); the lexicon-and-VADER reader before it read 99/263 of them right.
MIN_CROSS_VALIDATED_ACCURACY = 0.66
# The held-out set (written after the engine, never tuned on): cue lexicon alone 5/20, with VADER 7/20; the
# embedding reader (developed on tone_examples.py only, measured here once when done) 17/20.
MIN_HELDOUT_TONE_ACCURACY = 0.8
MIN_HELDOUT_CHECKLIST_ACCURACY = 0.9  # 19/21 items: agents that word things their own way are missed
# The second held-out set (46 call snippets labelled for tone and checklist before the engine first read them):
# tone 22/46 with the lexicon reader (always-calm would score 12/46; only 10 of the 34 upset callers were read
# right), 39/46 with the embedding reader (measured once, as above; 27 of the 34 upset callers, all 12 calm
# ones), checklist items 186/200 (done 66/79: agents' own wordings are missed; missing 93/94; n.a. 27/27).
MIN_HELDOUT_CALLS_TONE_ACCURACY = 0.82
MIN_HELDOUT_CALLS_CHECKLIST_ACCURACY = 0.9


@pytest.fixture(scope="module")
def snapshot() -> RegistrySnapshot:
    return load_registry()


def test_tone_accuracy_on_the_labelled_set() -> None:
    assert len(TONE_SNIPPETS) >= 40
    misses = [(label, text, classify_tone([text]).tone) for label, text in TONE_SNIPPETS]
    misses = [m for m in misses if m[0] != m[2]]
    assert 1 - len(misses) / len(TONE_SNIPPETS) >= MIN_TONE_ACCURACY, misses


def test_tone_accuracy_on_the_held_out_set() -> None:
    assert len(HELDOUT_TONE) == 20
    right = sum(classify_tone([text]).tone == label for label, text in HELDOUT_TONE)
    assert right / len(HELDOUT_TONE) >= MIN_HELDOUT_TONE_ACCURACY, right


def test_checklist_accuracy_on_the_held_out_cases(snapshot: RegistrySnapshot) -> None:
    right = total = 0
    for scenario, turns, expected in HELDOUT_CHECKLIST:
        guidance_turns = [GuidanceTurn(speaker=s, text=t, tools=tools) for s, t, tools in turns]  # type: ignore[arg-type]
        got = {
            i.id: i.status for i in embedded_report(snapshot.scenarios[scenario], guidance_turns).checklist
        }
        right += sum(got[item] == status for item, status in expected.items())
        total += len(expected)
    assert right / total >= MIN_HELDOUT_CHECKLIST_ACCURACY, (right, total)


def test_accuracy_on_the_held_out_call_snippets(snapshot: RegistrySnapshot) -> None:
    assert len(HELDOUT_CALLS) >= 40
    tone_right = items_right = items = 0
    for scenario, tone, turns, expected in HELDOUT_CALLS:
        guidance_turns = [GuidanceTurn(speaker=s, text=t, tools=tools) for s, t, tools in turns]  # type: ignore[arg-type]
        report = embedded_report(snapshot.scenarios[scenario], guidance_turns)
        tone_right += report.tone.tone == tone
        got = {item.id: item.status for item in report.checklist}
        assert set(got) == set(expected), scenario  # every item of the scenario's checklist is labelled
        items_right += sum(got[item] == status for item, status in expected.items())
        items += len(expected)
    assert tone_right / len(HELDOUT_CALLS) >= MIN_HELDOUT_CALLS_TONE_ACCURACY, tone_right
    assert items_right / items >= MIN_HELDOUT_CALLS_CHECKLIST_ACCURACY, (items_right, items)


def test_turns_without_cue_phrases_are_read_by_their_embedding_and_valence() -> None:
    # No cue phrase in these: the embedding model and VADER's valence read them.
    aimed = classify_tone(["this is a complete scam and you know it"])
    assert aimed.tone == "angry" and 0.5 <= aimed.confidence <= MAX_CONFIDENCE
    assert classify_tone(["there's smoke everywhere after the crash and i'm alone"]).tone == "distressed"
    # A symptom told plainly and a pleased turn are calm.
    assert classify_tone(["i have a sore throat since monday"]).tone == "calm"
    assert classify_tone(["okay no problem"]).tone == "calm"


def test_tone_reads_the_latest_turns_most() -> None:
    assert classify_tone([]) == ToneReading(tone="calm", confidence=0.5)
    calmed = classify_tone(["this is ridiculous", "okay", "fine thanks that works", "great thank you"])
    assert calmed.tone == "calm" and calmed.confidence > 0.5  # the outburst is three turns back
    heated = classify_tone(["my name is jordan", "i already told you my name twice"])
    assert heated.tone == "frustrated" and 0.5 < heated.confidence <= MAX_CONFIDENCE
    assert classify_tone(["what's my balance", "this is ridiculous"]).tone == "angry"


def test_a_turn_is_read_once_per_model_and_another_model_reads_it_afresh() -> None:
    """A live call re-reads its last turns on every report: each is read once, and kept with the model that
    read it (a cross-validation fold's model never sees the full model's readings)."""
    text = "the app keeps logging me out whenever I open my statements"
    model = tone_model.shared_model()
    read_before = len(model.readings)
    first = classify_tone([text])
    assert len(model.readings) == read_before + 1
    assert classify_tone([text]) == first
    classify_tone(
        ["and one more thing about the statements", text]
    )  # a report after the caller's next turn: only the new turn is read
    assert len(model.readings) == read_before + 2
    sure_anger = np.zeros(len(TONES))
    sure_anger[TONES.index("angry")] = 50.0
    other = tone_model.ToneModel(weights=np.zeros_like(model.weights), bias=sure_anger)
    with model_in_use(other):
        assert classify_tone([text]).tone == "angry"  # read afresh by the model in use, not from the cache
    assert classify_tone([text]) == first


def test_strong_cues_are_sure_but_never_certain_and_a_negated_cue_does_not_count() -> None:
    sure = classify_tone(["i already told you that twice this is frustrating"])
    assert sure == ToneReading(tone="frustrated", confidence=MAX_CONFIDENCE)
    assert _score("i'm not angry just tell me the balance") == {}
    assert _score("i'm angry") == {"angry": 2.0}


def test_cross_validated_accuracy_on_the_examples_and_a_meaningful_confidence() -> None:
    assert len(TONE_EXAMPLES) >= 100 and {t for _, t, _ in TONE_EXAMPLES} == set(TONES)
    assert {s for s, _, _ in TONE_EXAMPLES} == {"banking", "insurance", "triage"}
    right, confusion, confidences = cross_validate(k=5, seed=0)
    assert right / len(TONE_EXAMPLES) >= MIN_CROSS_VALIDATED_ACCURACY, sorted(confusion.items())
    # Readings it is surer of are right more often.
    when_right, when_wrong = confidences[:right], confidences[right:]
    assert sum(when_right) / len(when_right) > sum(when_wrong) / len(when_wrong) + 0.1


@pytest.mark.parametrize(("scenario", "turns", "expected"), CHECKLIST_CASES)
def test_checklist_status_on_the_labelled_cases(
    snapshot: RegistrySnapshot,
    scenario: str,
    turns: list[tuple[str, str, tuple[str, ...]]],
    expected: dict[str, str],
) -> None:
    guidance_turns = [GuidanceTurn(speaker=s, text=t, tools=tools) for s, t, tools in turns]  # type: ignore[arg-type]
    report = embedded_report(snapshot.scenarios[scenario], guidance_turns)
    assert {item.id: item.status for item in report.checklist} == expected


def test_a_report_names_the_turn_that_satisfied_an_item_and_coaches(snapshot: RegistrySnapshot) -> None:
    turns = [
        GuidanceTurn(speaker="caller", text="what's my balance", seq=3),
        GuidanceTurn(speaker="agent", text="you're verified", seq=4, tools=("verify_identity",)),
        GuidanceTurn(speaker="caller", text="i already told you that twice this is frustrating", seq=5),
    ]
    report = embedded_report(snapshot.scenarios["banking"], turns)
    verified = next(i for i in report.checklist if i.id == "identity_verified")
    assert (verified.status, verified.turn) == ("done", 4)
    assert report.tone.tone == "frustrated"
    assert report.coaching == (
        "The caller is frustrated: don't ask again for what they already said.",
        "Next on the checklist: Reason for the call captured.",
    )


def turn(seq: int, speaker: str, text: str, tools: tuple[str, ...] = ()) -> TranscriptTurn:
    now = datetime.now(UTC)
    calls = tuple(ToolCallRecord(id=f"c{seq}{n}", name=n, arguments={}, ok=True) for n in tools)
    return TranscriptTurn(
        call_id="call-1", seq=seq, speaker=speaker, kind="speech" if speaker == "caller" else "reply",  # type: ignore[arg-type]
        text=text, started_at=now, ended_at=now, tool_calls=calls,
    )  # fmt: skip


async def test_live_guidance_reports_after_caller_turns_at_most_once_per_interval(
    snapshot: RegistrySnapshot,
) -> None:
    published: list[GuidanceReport] = []
    live = LiveGuidance(
        snapshot.scenarios["banking"], EmbeddedGuidance(), published.append, min_interval_s=0.3
    )
    live.feed(turn(0, "agent", "thank you for calling"))
    await asyncio.sleep(0.05)
    assert published == []  # agent turns alone ask for nothing
    live.feed(turn(1, "caller", "what's my balance"))
    live.feed(turn(2, "agent", "you're verified", ("verify_identity", "get_balance")))
    live.feed(turn(3, "caller", "this is ridiculous"))
    await eventually(lambda: len(published) >= 1, timeout=5, interval=0.01)
    live.feed(turn(4, "caller", "i want a manager this is unacceptable"))
    await eventually(lambda: len(published) >= 2, timeout=5, interval=0.01)
    await live.aclose()
    live.feed(turn(5, "caller", "hello?"))  # after the call: ignored, no task
    await asyncio.sleep(0.05)
    assert len(published) == 2
    assert published[-1].turns_read == 5 and published[-1].tone.tone == "angry"
    assert {i.id: i.status for i in published[-1].checklist}["identity_verified"] == "done"


async def test_reports_start_at_least_an_interval_apart_and_read_every_turn(
    snapshot: RegistrySnapshot,
) -> None:
    starts: list[float] = []

    class Timed:
        name = "timed"

        async def guide(self, scenario: ScenarioSpec, turns: Sequence[GuidanceTurn]) -> GuidanceReport:
            starts.append(time.monotonic())
            return embedded_report(scenario, turns)

    published: list[GuidanceReport] = []
    interval = 0.4
    live = LiveGuidance(snapshot.scenarios["banking"], Timed(), published.append, min_interval_s=interval)
    for seq in range(6):  # a caller turn every 0.1 s: more often than the interval allows
        live.feed(turn(seq, "caller", f"hello {seq}"))
        await asyncio.sleep(0.1)
    await eventually(lambda: published and published[-1].turns_read == 6, timeout=10, interval=0.01)
    await live.aclose()
    # Never two reports within the interval (the loop's timers may fire a clock tick early); turns that came
    # meanwhile were read by the next report.
    assert all(later - earlier >= interval - 0.01 for earlier, later in itertools.pairwise(starts)), starts
    assert len(published) == len(starts)


async def test_an_agent_turn_that_ran_a_tool_asks_for_a_report(snapshot: RegistrySnapshot) -> None:
    published: list[GuidanceReport] = []
    live = LiveGuidance(
        snapshot.scenarios["triage"], EmbeddedGuidance(), published.append, min_interval_s=0.5
    )
    live.feed(turn(0, "agent", "i can't give medical advice what's the reason for your call"))
    live.feed(turn(1, "agent", "i've recorded your answers", ("submit_triage_intake",)))
    await eventually(lambda: published, timeout=5, interval=0.01)
    await live.aclose()
    done = {i.id for i in published[-1].checklist if i.status == "done"}
    assert done == {"disclaimer_given", "intake_recorded"}


async def test_a_failing_engine_costs_a_report_not_the_call(snapshot: RegistrySnapshot) -> None:
    class Broken:
        name = "broken"

        async def guide(self, scenario: object, turns: object) -> GuidanceReport:
            raise RuntimeError("model down")

    live = LiveGuidance(snapshot.scenarios["banking"], Broken(), lambda r: None, min_interval_s=0.5)
    live.feed(turn(1, "caller", "hello"))
    await eventually(lambda: live.failures >= 1, timeout=5, interval=0.01)
    live.feed(turn(2, "caller", "still there?"))  # the task survived the failure
    await live.aclose()
