"""What the latency and barge-in benchmarks read out of a finished call's timeline and transcript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from apps.acs_simulator import timeline as tl
from apps.acs_simulator.caller_audio import PlayWav, WaitForAgent, WaitForAgentStart
from bench import bargein, latency
from bench.phrases import Phrase
from bench.report import check_result


def events(*items: tuple[float, str] | tuple[float, str, dict[str, Any]]) -> list[tl.TimelineEvent]:
    timeline = tl.Timeline()
    for item in items:
        timeline.mark(item[1], t_ms=item[0], **(item[2] if len(item) > 2 else {}))  # type: ignore[misc]
    return timeline.events


def test_client_turns_pair_each_utterance_with_the_agent_audio_that_answered_it():
    found = latency.client_turns(
        events(
            (0, tl.AGENT_AUDIO_START), (5000, tl.AGENT_AUDIO_STOP),  # greeting
            (6000, tl.CALLER_SPEECH_START), (7000, tl.CALLER_SPEECH_END),
            (7700, tl.AGENT_AUDIO_START), (9000, tl.AGENT_AUDIO_STOP), (9300, tl.AGENT_AUDIO_START),
            (10000, tl.CALLER_SPEECH_START), (11000, tl.CALLER_SPEECH_END),  # never answered
            (12000, tl.CALLER_SPEECH_START), (12400, tl.STOP_AUDIO_RECEIVED), (13000, tl.CALLER_SPEECH_END),
            (13650, tl.AGENT_AUDIO_START),
        )
    )  # fmt: skip
    assert [(t.response_ms, t.stop_audio) for t in found] == [(700, False), (None, False), (650, True)]


def test_overhead_prefers_the_backends_own_figure():
    parts = {"end_of_turn_ms": 600, "stt_final_ms": 150, "llm_first_token_ms": 300, "tts_first_audio_ms": 100}
    assert latency.overhead_ms({**parts, "response_ms": 1158.5}) == pytest.approx(8.5)  # tools missing: 0
    assert latency.overhead_ms({**parts, "tools_ms": 8, "response_ms": 1158.5}) == pytest.approx(0.5)
    assert latency.overhead_ms({**parts, "response_ms": 1158.5, "overhead_ms": 2.0}) == 2.0
    assert latency.overhead_ms(parts) is None


def test_server_turns_are_the_timed_agent_replies():
    transcript = {
        "turns": [
            {"speaker": "agent", "kind": "greeting", "text": "Hi", "latency": None},
            {"speaker": "caller", "kind": "speech", "text": "balance"},
            {"speaker": "agent", "kind": "reply", "seq": 2, "text": "It is 5.",
             "latency": {"end_of_turn_ms": 608, "response_ms": 612.5}},
        ]
    }  # fmt: skip
    [turn] = latency.server_turns(transcript)
    assert (turn["seq"], turn["overhead_ms"], turn["overhead_source"]) == (2, 4.5, "formula")
    assert latency.caller_texts(transcript) == ["balance"]


def test_latency_script_waits_out_every_reply(tmp_path):
    phrase = Phrase("hi", tmp_path / "hi.wav", 500)
    assert latency.call_script([phrase, phrase]) == [
        WaitForAgent(), PlayWav(phrase.path), WaitForAgent(start_timeout_s=10.0),
        PlayWav(phrase.path), WaitForAgent(start_timeout_s=10.0),
    ]  # fmt: skip


WAV = "wav:interruption.wav"


def test_interruptions_time_onset_to_stop_audio_and_count_misses():
    timeline = events(
        (0, tl.AGENT_AUDIO_START),
        (1000, tl.CALLER_SPEECH_START, {"what": WAV}),  # during playback, cut 80 ms later
        (1080, tl.STOP_AUDIO_RECEIVED, {"dropped_ms": 60}),
        (1100, tl.AGENT_AUDIO_STOP),
        (3000, tl.AGENT_AUDIO_START),
        (4000, tl.CALLER_SPEECH_START, {"what": WAV}),  # during playback, StopAudio too late: a miss
        (6500, tl.STOP_AUDIO_RECEIVED),
        (6600, tl.AGENT_AUDIO_STOP),
        (8000, tl.CALLER_SPEECH_START, {"what": WAV}),  # agent silent: not a barge-in
        (9000, tl.CALLER_SPEECH_START, {"what": "wav:question.wav"}),  # another phrase: ignored
    )
    found = bargein.interruptions(timeline, WAV, call=0)
    assert [(i.agent_playing, i.latency_ms, i.missed, i.dropped_ms) for i in found] == [
        (True, 80, False, 60),
        (True, None, True, None),
        (False, None, False, None),
    ]


def test_bargein_result_fails_on_misses_and_follows_the_contract(tmp_path):
    interruption = Phrase("Wait, one thing.", tmp_path / "interruption.wav", 1180)
    run = {
        "call_connection_id": "c1",
        "delays_ms": [500, 900, 1200],
        "interruptions": [
            {
                "call": 0,
                "index": 0,
                "onset_ms": 1,
                "agent_playing": True,
                "latency_ms": 80.0,
                "missed": False,
            },
            {"call": 0, "index": 1, "onset_ms": 2, "agent_playing": True, "latency_ms": None, "missed": True},
            {
                "call": 0,
                "index": 2,
                "onset_ms": 3,
                "agent_playing": False,
                "latency_ms": None,
                "missed": False,
            },
        ],
        "problems": [],
    }
    result = bargein.build_result([run], {"question": interruption, "interruption": interruption}, quick=True)
    check_result(result, "bargein")
    p95, misses = result["targets"]
    assert (p95["value"], p95["met"]) == (80.0, True)
    assert (misses["value"], misses["met"]) == (1, False)
    assert result["counts"] == {
        "interruptions": 3, "during_playback": 2, "timed": 1, "missed": 1, "agent_silent": 1,
    }  # fmt: skip
    assert any("missed: call 0 #1" in note for note in result["notes"])
    assert any("found the agent silent" in note for note in result["notes"])


def test_bargein_script_cuts_into_each_reply(tmp_path):
    question = Phrase("q", Path(tmp_path / "q.wav"), 1000)
    cut = Phrase("c", Path(tmp_path / "c.wav"), 1200)
    assert bargein.call_script(question, cut, [400.0, 1300.0]) == [
        WaitForAgent(), PlayWav(question.path),
        WaitForAgentStart(after_ms=400.0, start_timeout_s=10.0), PlayWav(cut.path),
        WaitForAgentStart(after_ms=1300.0, start_timeout_s=10.0), PlayWav(cut.path),
        WaitForAgent(start_timeout_s=10.0),
    ]  # fmt: skip


def test_latency_result_checks_overhead_response_and_cut_turns(tmp_path):
    def provider_set(overheads: list[float], cut: int = 0) -> dict[str, Any]:
        server = [{"response_ms": 210 + o, "end_of_turn_ms": 224, "overhead_ms": o, "overhead_source": "backend",
                   "formula_overhead_ms": o + 2} for o in overheads]  # fmt: skip
        turns = [
            {"client_response_ms": 300.0 + o, "paused": i % 2 == 1, **s}
            for i, (o, s) in enumerate(zip(overheads, server, strict=True))
        ]
        call = {"call_connection_id": "c", "turns": turns, "server_turns": server, "problems": ["odd"]}
        keys = ("client_response_ms", *latency.PARTS, "llm_ms", "response_ms", "overhead_ms",
                "formula_overhead_ms", "client_minus_server_ms", "speech_end_lag_ms")  # fmt: skip
        summaries = {k: latency.summarize(t.get(k) for t in turns) for k in keys}
        summaries["client_response_plain_ms"] = latency.summarize(t["client_response_ms"] for t in turns[::2])
        summaries["client_response_paused_ms"] = latency.summarize(
            t["client_response_ms"] for t in turns[1::2]
        )
        return {"calls": [call], "summaries": summaries, "cut": {"turns": len(turns), "cut": cut}}

    phrase = Phrase("hi", tmp_path / "hi.wav", 500)
    paused = Phrase(
        "my account ends in ... one", tmp_path / "p.wav", 900, pauses_ms=(400,), parts=(("a", 3), ("b", 2))
    )
    sets = {"instant": provider_set([1.0, 2.0, 30.0]), "embedded": provider_set([1.0], cut=1)}
    result = latency.build_result(sets, [phrase, paused], quick=True)
    check_result(result, "latency")
    overhead, p50, p95, cut = result["targets"]
    assert (overhead["target"], overhead["value"], overhead["met"]) == ("p95 <= 10 ms", 27.2, False)
    assert (p50["target"], p50["value"], p50["met"]) == ("p50 <= 350 ms", 302.0, True)
    assert (p95["target"], p95["value"], p95["met"]) == ("p95 <= 500 ms", 327.2, True)
    assert (cut["target"], cut["value"], cut["met"]) == ("<= 2 %", 25.0, False)  # 1 of 4 turns
    assert "instant call c: odd" in result["notes"]
    assert "backend's own TurnLatency.overhead_ms" in " ".join(result["notes"])
    assert "instant 0/3; embedded 1/1" in " ".join(result["notes"])
    assert sorted(result["histograms"]) == [
        "response latency, embedded (caller's ear)",
        "response latency, instant (caller's ear)",
    ]


def test_a_turn_is_cut_when_the_agent_speaks_inside_it_or_the_backend_hears_it_split():
    found = latency.client_turns(
        events(
            (1000, tl.CALLER_SPEECH_START), (2500, tl.CALLER_SPEECH_END), (2700, tl.AGENT_AUDIO_START),
            (5000, tl.CALLER_SPEECH_START), (5600, tl.AGENT_AUDIO_START), (5800, tl.STOP_AUDIO_RECEIVED),
            (6500, tl.CALLER_SPEECH_END), (7000, tl.AGENT_AUDIO_START),
        )
    )  # fmt: skip
    assert [t.cut for t in found] == [False, True]
    assert latency.cut_turns(found, heard=2) == 1
    assert latency.cut_turns(found, heard=4) == 2  # two more turns heard than spoken: two splits
    assert latency.cut_turns(found, heard=None) == 1  # no transcript: the caller's side alone


def test_speech_end_lag_compares_the_servers_turn_end_with_the_real_one():
    turns = [latency.ClientTurn(0, 1000, 1700, False), latency.ClientTurn(3000, 4000, None, False)]
    t0 = 1_700_000_000.0
    assert latency.speech_end_lags_ms(turns, [t0 + 1.08, t0 + 4.05], t0) == [
        pytest.approx(80.0, abs=1e-3),
        pytest.approx(50.0, abs=1e-3),
    ]
    assert latency.speech_end_lags_ms(turns, [t0 + 1.08], t0) == [None, None]  # a lost turn: no pairing
    transcript = {"turns": [{"speaker": "caller", "kind": "speech", "ended_at": "2023-11-14T22:13:21+00:00"}]}
    assert latency.server_speech_ends(transcript) == [1_700_000_001.0]
