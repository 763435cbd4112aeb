"""Reading an answer by what the agent asked for: the turn's Whisper prompt, the digit lengths preferred, the
second reading with a digits prompt, and the session passing the hint to the final pass of the turns after it.
No model is loaded (`_job` is replaced); tests/integration/test_whisper_stt.py runs the real one."""

from __future__ import annotations

import threading
from pathlib import Path

from voice.expectation import Expectation
from voice.stt.answer_hint import (
    answer_prompt,
    digits_prompt,
    expected_hints,
    fits,
    wants_reread,
    with_digits_of,
)
from voice.stt.base import ExpectingSession, SttConfig
from voice.stt.digit_choice import DigitHints
from voice.stt.final_pass import PoolSize, WhisperFinalPass, final_text
from voice.stt.local import LocalSpeechToText
from voice.stt.whisper_model import WhisperResult
from voice.stt.whisper_prompt import scenario_prompt

LAST_FOUR = Expectation(lengths=(4,), date=True, label="the last four digits or date of birth")
POLICY = Expectation(lengths=(6,), letters=2, label="policy number")
DATE = Expectation(date=True, label="date of birth")
PHRASES = (
    "Jordan Rivera",
    "this is Priya Shah",
    "the charge at Bella Pizza",
    "in Las Vegas",
    "what's my checking balance",
)


def test_a_number_answer_drops_the_places_and_leaves_the_digits_to_the_second_reading() -> None:
    scenario = scenario_prompt(PHRASES)
    assert "Las Vegas" in scenario and "Bella Pizza" in scenario
    prompt = answer_prompt(PHRASES, LAST_FOUR)
    assert "Las Vegas" not in prompt and "Bella Pizza" not in prompt
    assert "Jordan Rivera" in prompt and "Priya Shah" in prompt
    assert "one two three" not in prompt  # counting digits in the first prompt were copied into numbers
    assert digits_prompt(POLICY) == "A B one two three four five six."


def test_no_number_and_no_date_keeps_the_scenario_prompt() -> None:
    assert answer_prompt(PHRASES, None) == scenario_prompt(PHRASES)
    assert answer_prompt(PHRASES, Expectation(label="full name")) == scenario_prompt(PHRASES)
    assert "Las Vegas" not in answer_prompt(PHRASES, DATE)  # a date answer drops the places too
    assert digits_prompt(LAST_FOUR) == "one two three four."


def test_the_expected_lengths_replace_the_scenarios() -> None:
    scenario = DigitHints(frozenset({4, 6, 7}))
    assert expected_hints(None, scenario) is scenario
    assert expected_hints(DATE, scenario) is scenario
    assert expected_hints(LAST_FOUR, scenario).lengths == {4}
    assert expected_hints(POLICY, scenario).lengths == {6, 7}  # "H O ...": the O reads as a zero too


def test_the_expected_length_picks_pocketsphinxs_reading_where_the_scenarios_lengths_do_not() -> None:
    # A 7-digit string is a claim number in this scenario, so without the hint Whisper's reading stands.
    phrases = ("status of claim 7001002", "AU-482913")
    whisper, heard = "Marcus Chen, six six four zero zero one one.", "marcus chen six six four zero one one"
    assert final_text(whisper, phrases, heard) == whisper
    hinted = final_text(whisper, phrases, heard, Expectation(lengths=(6,)))
    assert hinted == "Marcus Chen, six six four zero one one."


def test_a_reading_without_the_expected_length_is_read_again() -> None:
    assert wants_reread("Marcus Chen, six six four zero zero.", LAST_FOUR)
    assert not wants_reread("Marcus Chen, six six four zero.", LAST_FOUR)
    assert not wants_reread("Marcus Chen, I don't have it.", LAST_FOUR)  # no digits: another answer
    assert not wants_reread("Marcus Chen, six six four zero zero.", None)
    assert not wants_reread("born March fourteen, nineteen eighty five", DATE)
    # "H O seven three ...": the prefix's O is a letter, not a seventh digit
    assert fits("It's H O seven three zero one five five.", POLICY)
    assert not wants_reread("It's H O seven three zero one five five.", POLICY)


def test_the_second_readings_digits_replace_the_first_readings() -> None:
    first = "Marcus Chen, six six four zero zero."
    assert (
        with_digits_of(first, "Marker's can six six four zero.", LAST_FOUR)
        == "Marcus Chen, six six four zero."
    )
    assert with_digits_of(first, "Marker's can six six four zero zero.", LAST_FOUR) == first  # no better
    # A number the digits prompt talked it into, not the one heard first, is not taken
    assert (
        with_digits_of("zero one five five.", "one two three four five six.", POLICY) == "zero one five five."
    )
    two = "four eight one two, no, four eight two one two"
    assert with_digits_of(two, "four eight two one", LAST_FOUR) == "four eight two one"
    fixed = with_digits_of(
        "It's H O seven three one five five.", "H O seven three zero one five five", POLICY
    )
    assert fixed == "It's H O seven three zero one five five."


class ScriptedPass(WhisperFinalPass):
    """Answers each job from `answers` by prompt (the digits prompt, else the first), and keeps the prompts."""

    def __init__(self, answers: dict[str, str], default: str) -> None:
        super().__init__(Path("/nonexistent"), PoolSize(1, 1, 0))
        self.answers = answers
        self.default = default
        self.prompts: list[str] = []
        self.lock = threading.Lock()

    def _job(self, pcm16k: bytes, prompt: str) -> WhisperResult:
        with self.lock:
            self.prompts.append(prompt)
        return WhisperResult(self.answers.get(prompt, self.default), -0.1, 0.01)


async def test_the_final_pass_reads_again_only_when_the_expected_length_is_missing() -> None:
    final = ScriptedPass(
        {digits_prompt(LAST_FOUR): "six six four zero."}, "Marcus Chen, six six four zero zero."
    )
    try:
        text = await final.transcribe(bytes(16_000), PHRASES, "", LAST_FOUR)
        assert text is not None and text.text == "Marcus Chen, six six four zero."
        assert final.prompts == [answer_prompt(PHRASES, LAST_FOUR), digits_prompt(LAST_FOUR)]
        final.prompts.clear()
        text = await final.transcribe(bytes(16_000), PHRASES, "", None)
        assert text is not None and text.text == "Marcus Chen, six six four zero zero."
        assert final.prompts == [scenario_prompt(PHRASES)]  # no hint: one reading, the scenario's prompt
    finally:
        final.close()


async def test_the_session_hands_the_hint_to_the_turns_that_end_after_it() -> None:
    final = ScriptedPass({}, "Jordan Rivera.")
    stt = LocalSpeechToText(final_pass=final)
    session = await stt.open_session(SttConfig(16_000, phrases=PHRASES, call_id="t"))
    assert isinstance(session, ExpectingSession)
    try:
        session.push(bytes(16_000))
        await session.end_of_turn()
        session.expect(LAST_FOUR)
        session.push(bytes(16_000))
        await session.end_of_turn()
        session.push(bytes(16_000))
        await session.end_of_turn()  # the hint holds until the agent asks something else
        session.expect(None)
        session.push(bytes(16_000))
        await session.end_of_turn()
        hinted = answer_prompt(PHRASES, LAST_FOUR)
        plain = scenario_prompt(PHRASES)
        assert final.prompts == [plain, hinted, hinted, plain]
    finally:
        await session.aclose()
        final.close()
