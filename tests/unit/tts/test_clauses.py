"""Clause cutting: speak early, never split numbers or abbreviations."""

from voice.tts.clauses import ClauseSplitter


def feed_all(tokens: list[str]) -> list[str]:
    splitter = ClauseSplitter()
    out: list[str] = []
    for token in tokens:
        out.extend(splitter.feed(token))
    tail = splitter.flush()
    return out + ([tail] if tail else [])


def test_sentences_are_cut_as_soon_as_they_end() -> None:
    splitter = ClauseSplitter()
    assert splitter.feed("Your balance is") == []
    assert splitter.feed(" $1,250.50. Anything") == ["Your balance is $1,250.50."]
    assert splitter.feed(" else?") == []  # no whitespace after "?" yet: the stream may continue
    assert splitter.flush() == "Anything else?"


def test_first_clause_goes_out_at_a_comma_once_long_enough() -> None:
    splitter = ClauseSplitter(first_min_chars=12)
    assert splitter.feed("Sure, ") == []  # too short to be worth a TTS request on its own
    assert splitter.feed("I can help with that, ") == ["Sure, I can help with that,"]
    # Later clauses wait for the sentence end unless the sentence runs long.
    assert splitter.feed("let me check, ") == []
    assert splitter.feed("one moment. ") == ["let me check, one moment."]


def test_numbers_and_abbreviations_do_not_split() -> None:
    assert feed_all(["It cost $3.50 at St. ", "Mary's, ", "e.g. ", "yesterday. Done."]) == [
        "It cost $3.50 at St. Mary's,",
        "e.g. yesterday.",
        "Done.",
    ]


def test_token_by_token_stream_loses_and_reorders_nothing() -> None:
    text = "Thank you, Jordan, you're verified. Your checking balance is $2,481.17. Anything else?"
    by_char = feed_all(list(text))
    # Streamed, the first clause leaves at the first long-enough comma instead of the sentence end.
    assert by_char[0] == "Thank you, Jordan,"
    assert " ".join(by_char) == " ".join(feed_all([text])) == text


def test_empty_stream_has_no_tail() -> None:
    splitter = ClauseSplitter()
    assert splitter.feed("") == []
    assert splitter.flush() is None
