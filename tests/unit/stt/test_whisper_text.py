"""Whisper's written numbers read back as the words the rest of the embedded stack carries, its decoding-loop
guards, and the scenario prompt."""

from __future__ import annotations

import pytest

from registries.loader import load_registry
from voice.llm.local_brain.identifiers import parse_identifier
from voice.stt.phrases import scenario_phrases
from voice.stt.whisper_model import collapse_repeats, encoder_frames, looping
from voice.stt.whisper_prompt import scenario_prompt
from voice.stt.whisper_text import identifier_prefixes, repair_prefix_letters, repair_tens, spoken_numbers


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        (
            "Sure, it's Jordan Rivera and the account ends in 4821.",
            "Sure, it's Jordan Rivera and the account ends in four eight two one.",
        ),
        ("I want to move $300 from my savings.", "I want to move three hundred dollars from my savings."),
        ("$2,450.75", "two thousand four hundred fifty dollars and seventy five cents"),
        ("$1", "one dollar"),
        ("I was born on the 2nd of July 1990.", "I was born on the second of July nineteen ninety."),
        ("March 14th, 2005", "March fourteenth, two thousand five"),
        ("My account number ends in 66-40.", "My account number ends in sixty six forty."),
        ("Two hundred and fifty. 250.", "Two hundred and fifty. two hundred fifty."),
        ("policy AU-482913", "policy A U four eight two nine one three"),
        ("RE215566", "R E two one five five six six"),
        ("RE 215 566", "R E two one five five six six"),
        ("Uh, 215, 566.", "Uh, two one five five six six."),
        ("call 555-1234", "call five five five one two three four"),
        ("the account ends in 482 1.", "the account ends in four eight two one."),
        ("4 8 2 1", "four eight two one"),
        ("I 250 and July 12, 1990", "I two hundred fifty and July twelve, nineteen ninety"),
        ("claim 7001001", "claim seven zero zero one zero zero one"),
        ("it's 7.001002.", "it's seven zero zero one zero zero two."),
        ("Lakeside Hardware, 129, 99.", "Lakeside Hardware, one hundred twenty nine ninety nine."),
        ("the rate is 4.25", "the rate is four point two five"),
        ("my checking ends in 66.40.", "my checking ends in sixty six forty."),
        ("it's re-215-566,", "it's R E two one five five six six,"),
        ("a re-run at 5", "a re-run at five"),
        ("code 007", "code zero zero seven"),
        ("at 7:30 or 7:05", "at seven thirty or seven oh five"),
        ("5% and 2.5", "five percent and two point five"),
        ("1,200 dollars", "one thousand two hundred dollars"),
        ("no numbers here", "no numbers here"),
    ],
)
def test_written_numbers_become_spoken_words(written: str, spoken: str) -> None:
    assert spoken_numbers(written) == spoken


def test_the_brain_reads_the_spoken_identifier_back() -> None:
    assert parse_identifier(spoken_numbers("It's AU-482913.").lower(), "LLDDDDDD") == "AU482913"


def test_repeated_text_is_collapsed_to_one_copy() -> None:
    looped = "Jordan Rivera, four eight two one, Jordan Rivera, four eight two one, Jordan"
    assert collapse_repeats(looped) == "Jordan Rivera, four eight two one"
    assert collapse_repeats("no no") == "no no"  # a short repeat is how people talk, or a number
    assert collapse_repeats("four eight four eight") == "four eight four eight"
    assert collapse_repeats("yes, yes, do it") == "yes, yes, do it"


@pytest.mark.parametrize(
    ("looped", "once"),
    [
        ("Sure. Sure. Sure. It's Jordan Rivera.", "Sure. It's Jordan Rivera."),
        (
            "So, Sorry. Sorry. Sorry. Sorry. How much is in my savings?",
            "So, Sorry. How much is in my savings?",
        ),
        ("AU-482914, sorry, 913, 913, 913, 913,", "AU-482914, sorry, 913,"),
        ("few few few few", "few"),
        ("no, no, that's wrong", "no, no, that's wrong"),  # twice is how people talk
        ("Thank you. Thank you.", "Thank you. Thank you."),
    ],
)
def test_a_word_written_three_times_in_a_row_is_kept_once(looped: str, once: str) -> None:
    assert collapse_repeats(looped) == once


def test_a_decoding_loop_is_detected() -> None:
    assert looping("You've already done it, " * 8, 3.0)
    loop = "seven zero zero one zero zero one, seven zero zero one, seven zero zero one, seven zero zero one, sev-"
    assert looping(loop, 6.0)  # three copies at the end (the cut-off word ignored), though not too many words
    assert looping("I want to move some money from my savings to my checking account please", 1.0)  # too many
    assert not looping("Sure, it's Jordan Rivera and the account ends in four eight two one.", 3.0)
    assert not looping("seven zero zero one zero zero one", 2.0)
    assert not looping("no, no, no", 1.0)


def test_encoder_windows_are_whole_10_s_blocks_up_to_30_s() -> None:
    assert [encoder_frames(f) for f in (1, 400, 999, 1000, 2500, 3000, 4000)] == [
        1000, 1000, 1000, 2000, 3000, 3000, 3000
    ]  # fmt: skip


def test_the_prompt_lists_the_scenarios_names_first_and_no_number_words_among_its_terms() -> None:
    snapshot = load_registry()
    banking = scenario_prompt(scenario_phrases(snapshot, "banking"))
    insurance = scenario_prompt(scenario_phrases(snapshot, "insurance"))
    assert banking.startswith("Jordan Rivera, Priya Shah, Marcus Chen")
    assert "checking" in banking.split(", ")
    assert "A U four eight two nine one three" in insurance and "deductible" in insurance  # as said
    assert not {"four", "eight", "hundred"} & set(banking.rstrip(".").split(", "))
    assert scenario_prompt([]) == ""


@pytest.mark.parametrize(
    ("heard", "repaired"),
    [
        (
            "the policy is the U four eight two nine one three,",
            "the policy is A U four eight two nine one three,",
        ),
        (
            "policy, number, are, E two one five five six six,",
            "policy, number, R E two one five five six six,",
        ),
        ("my policy is our E two one five five six six", "my policy is R E two one five five six six"),
        ("The U four eight", "A U four eight"),
        ("H zero seven three one five five,", "H O seven three one five five,"),
        ("H zero", "H zero"),  # no digits after it
        ("are you four", "are you four"),  # no letter
        ("the U boat", "the U boat"),  # no digits after it
        ("My policy is a new one one eight eight two two,", "My policy is A U one one eight eight two two,"),
        ("My policy is a read to one five five six six,", "My policy is R E to one five five six six,"),
        ("It's sorry to one five five six six.", "It's R E to one five five six six."),
        ("I'd like a new one, two weeks ago", "I'd like a new one, two weeks ago"),  # no identifier's digits
        ("sorry, two four", "sorry, two four"),
    ],
)
def test_an_identifiers_first_letter_heard_as_a_word_is_a_letter_again(heard: str, repaired: str) -> None:
    prefixes = identifier_prefixes(
        ("my policy number is A U 4 8 2 9 1 3", "the policy is HO-730155", "R E 2 1 5")
    )
    assert prefixes == {"AU", "HO", "RE"}
    assert repair_prefix_letters(heard, prefixes) == repaired


def test_the_shipped_insurance_phrases_teach_every_policy_prefix() -> None:
    phrases = tuple(scenario_phrases(load_registry(), "insurance"))
    assert {"AU", "HO", "RE"} <= identifier_prefixes(phrases)


@pytest.mark.parametrize(
    ("heard", "repaired"),
    [
        (
            "Marcus Chen, my checking and two six six fourD.",
            "Marcus Chen, my checking and two six six forty.",
        ),
        ("ending in sixty six, fourD, well", "ending in sixty six, forty, well"),
        ("it was fiveD", "it was fifty"),
        ("a 3D printer and the fourth", "a 3D printer and the fourth"),
        ("Ford", "Ford"),
    ],
)
def test_a_tens_word_written_as_a_digit_and_d_is_the_tens_again(heard: str, repaired: str) -> None:
    assert repair_tens(heard) == repaired
