"""Numbers as a caller says them ("four eight two one", "sixty-six", "twenty-first", "nineteen eighty-five"):
the word sequences the phrase model learns for digits, amounts, ordinals and years."""

from __future__ import annotations

ONES = tuple("zero one two three four five six seven eight nine".split())
TEENS = tuple("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())
TENS = ("", "", *"twenty thirty forty fifty sixty seventy eighty ninety".split())
ORDINAL_ONES = (
    "",
    *"first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(),
    *"thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth".split(),
)
ORDINAL_TENS = {20: "twentieth", 30: "thirtieth"}


def spell_digits(digits: str) -> list[str]:
    """Digit by digit, as account numbers, card endings and codes are read: 4821 -> four eight two one."""
    return [ONES[int(d)] for d in digits]


def cardinal(n: int) -> list[str]:
    """0 <= n < 1_000_000 -> words, e.g. 1200 -> one thousand two hundred."""
    if n < 10:
        return [ONES[n]]
    if n < 20:
        return [TEENS[n - 10]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        return [ONES[n // 100], "hundred"] + (cardinal(n % 100) if n % 100 else [])
    return cardinal(n // 1000) + ["thousand"] + (cardinal(n % 1000) if n % 1000 else [])


def ordinal(n: int) -> list[str]:
    """1 <= n < 100 -> words, e.g. 23 -> twenty third."""
    if n < 20:
        return [ORDINAL_ONES[n]]
    if n % 10 == 0:
        return [ORDINAL_TENS.get(n) or TENS[n // 10][:-1] + "ieth"]
    return [TENS[n // 10], ORDINAL_ONES[n % 10]]


def year(n: int) -> list[str]:
    """1985 -> nineteen eighty five; 2005 -> two thousand five; 2024 -> twenty twenty four."""
    hi, lo = divmod(n, 100)
    if hi == 20 and lo < 10:
        return cardinal(n)
    tail = ["hundred"] if lo == 0 else (["oh", ONES[lo]] if lo < 10 else cardinal(lo))
    return cardinal(hi) + tail
