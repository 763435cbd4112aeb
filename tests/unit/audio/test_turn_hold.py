"""An end of speech after clearly unfinished words is held a little longer: a pause mid-sentence does not end the
caller's turn, and with `unfinished_hold_ms` 0 the fixed-silence behaviour is unchanged."""

from voice.audio.turns import TurnEnded, TurnPolicy, TurnStarted, TurnTracker
from voice.speech_cascade.unfinished import sounds_unfinished

from .test_turns import run, windows


def _tracker(hold_ms: int, unfinished: bool) -> TurnTracker:
    tracker = TurnTracker(TurnPolicy(end_of_turn_silence_ms=640, unfinished_hold_ms=hold_ms))
    tracker.unfinished = lambda: unfinished
    return tracker


def test_a_pause_after_unfinished_words_keeps_the_turn_open_and_the_caller_goes_on() -> None:
    tracker = _tracker(704, unfinished=True)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(960), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted]  # 960 ms of silence, but "my account ends in"
    events = run(tracker, [0.9] * windows(640), agent_active=False)
    assert events == []  # the same turn goes on: no second TurnStarted
    tracker.unfinished = lambda: False
    events = run(tracker, [0.05] * windows(672), agent_active=False)
    assert [type(e) for e in events] == [TurnEnded]
    assert events[0].speech_ms == 960 + 960 + 640  # from the first onset, the pause included


def test_a_held_end_ends_the_turn_once_the_extra_silence_has_passed() -> None:
    tracker = _tracker(704, unfinished=True)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(640 + 704 + 32), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnEnded]
    assert events[1].silence_ms >= 640 + 704


def test_with_no_hold_the_fixed_silence_ends_the_turn() -> None:
    tracker = _tracker(0, unfinished=True)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(672), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnEnded]
    assert events[1].silence_ms == 640


def test_finished_words_end_the_turn_at_the_fixed_silence() -> None:
    tracker = _tracker(704, unfinished=False)
    events = run(tracker, [0.9] * windows(960) + [0.05] * windows(672), agent_active=False)
    assert [type(e) for e in events] == [TurnStarted, TurnEnded]


def test_unfinished_words() -> None:
    for text in (
        "my account number ends in",
        "it's jordan rivera and",
        "i was born on",
        "um",
        "the policy number is",
    ):
        assert sounds_unfinished(text), text
    for text in ("four eight two one", "what's my balance", "yes", "", "jordan rivera"):
        assert not sounds_unfinished(text), text


def test_a_question_or_an_object_may_end_on_a_word_that_usually_dangles() -> None:
    """ "with", "to", "that" end many complete turns: held as unfinished, they waited the longest silence."""
    for text in (
        "hi what can you help me with",
        "who am i speaking to",
        "sorry what was that",
        "no actually don't do that",
        "could you repeat that",
        "what is this about",
    ):
        assert not sounds_unfinished(text), text
    for text in ("i'd like to move money from", "the problem is that", "can you", "my card ends in"):
        assert sounds_unfinished(text), text


def test_a_correction_announced_but_not_said_yet_is_unfinished() -> None:
    """ "A U four eight two nine one four, sorry, no, | nine one three": a pause after a repair marker comes before
    the correction. Read as a closing "no", it ended the turn and the lookup ran on the number taken back."""
    from voice.speech_cascade.unfinished import sounds_complete

    for text in (
        "a u four eight two nine one four sorry no",
        "my account ends in four eight two one no wait",
        "the last four are four eight one two sorry",
        "it was on tuesday i mean",
        "send it to savings or rather",
    ):
        assert sounds_unfinished(text) and not sounds_complete(text), text
    for text in ("no", "no thanks", "sorry what was that", "no that's all", "yes that's right no problem"):
        assert not sounds_unfinished(text), text
