"""Digit-string accuracy of `eval --stt-only`: the digits the brain would read from a line, said against heard."""

from __future__ import annotations

import pytest

from apps.evals.stt_check import LineResult, SttReport
from apps.evals.stt_digits import digit_score, digit_strings, digits_right, has_digits


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("Jordan Rivera, four eight two one.", ["4821"]),
        ("my checking ends in sixty-six forty", ["6640"]),
        ("Uh, the last four is, um, four eight two one.", ["4821"]),
        ("H O seven thirty-one fifty-five.", ["073155"]),
        ("It's seven oh oh one oh oh two.", ["7001002"]),
        ("four eight one two, no wait, sorry, four eight two one", ["4812", "4821"]),
        ("nine one three", ["913"]),
        ("nine hundred thirteen", []),  # an amount, as the brain reads it: not the digits 913
        ("a hundred and twenty-nine ninety-nine", []),
        ("move two hundred fifty dollars", []),
        ("I have one question", []),
        ("no numbers at all", []),
    ],
)
def test_digit_strings_are_read_as_the_brain_reads_them(text: str, digits: list[str]) -> None:
    assert digit_strings(text) == digits


@pytest.mark.parametrize(
    ("said", "heard", "right"),
    [
        ("ends in four eight two one", "ends in forty eight twenty one", True),
        ("ends in four eight two one", "ends in four eight two one one", False),  # a digit added
        ("policy two one five five six six", "policy two one five five six", False),  # a digit lost
        ("A U four eight two nine one three", "A U four eight two nine hundred thirteen", False),
        ("born March fourteenth, nineteen eighty-five", "born March fourteen, nineteen eighty five", True),
        ("born March fourteenth, nineteen eighty-five", "born March fourth, nineteen eighty five", False),
        ("my water heater burst last night", "my water heater burst last night", True),
    ],
)
def test_a_line_is_right_when_its_digits_or_its_date_are(said: str, heard: str, right: bool) -> None:
    assert digits_right(said, heard) is right


def test_only_lines_with_digits_or_a_dated_month_count() -> None:
    assert has_digits("It's A U four eight two nine one three.")
    assert has_digits("I was born on the second of July, nineteen ninety.")
    assert not has_digits("It happened on Saturday night.")  # a day without a month has no digits to lose
    score = digit_score(
        [
            ("four eight two one", "four eight two one"),
            ("six six four zero", "six six four"),
            ("hello", "yellow"),
        ]
    )
    assert (score.lines, score.right, str(score)) == (2, 1, "1/2 (50%)")
    assert str(digit_score([])) == "no lines with digits"


def test_the_report_gives_digit_accuracy_per_group_and_the_lines_wrong() -> None:
    report = SttReport(recogniser="whisper-tiny.en")
    report.lines += [
        LineResult("banking", "a", "piper-joe", "It's four eight two one.", "It's four eight two one.", 0.0),
        LineResult("banking", "b", "piper-joe", "six six four zero", "six six four zero zero", 0.25),
        LineResult("banking", "c", "piper-joe", "Hello there.", "Hello there.", 0.0),
    ]
    summary = report.summary()
    assert "digits 1/2 (50%)" in summary
    assert "said 6640 in 'six six four zero'" in summary and "heard 66400 in" in summary
    assert report.as_json()["lines"][1]["heard"] == "six six four zero zero"  # type: ignore[index]
