"""Turn demo data into text that reads well when spoken by a TTS voice (no symbols, no markdown)."""

from __future__ import annotations

import re
from datetime import date

_ORDINAL_SUFFIX = {1: "st", 2: "nd", 3: "rd"}


def money(cents: int) -> str:
    """`123450` -> "1,234 dollars and 50 cents"; `100` -> "1 dollar"; `5` -> "5 cents". Sign is dropped."""
    dollars, rest = divmod(abs(int(cents)), 100)
    dollar_text = f"{dollars:,} dollar{'' if dollars == 1 else 's'}"
    cent_text = f"{rest} cent{'' if rest == 1 else 's'}"
    if rest == 0:
        return dollar_text
    if dollars == 0:
        return cent_text
    return f"{dollar_text} and {cent_text}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else _ORDINAL_SUFFIX.get(n % 10, "th")
    return f"{n}{suffix}"


def spoken_date(day: date, *, today: date | None = None) -> str:
    """`2026-11-14` -> "November 14th"; the year is said only when it is not the current one."""
    today = today or date.today()
    text = f"{day:%B} {ordinal(day.day)}"
    return text if day.year == today.year else f"{text}, {day.year}"


def spell(value: str) -> str:
    """Say an identifier character by character: "AU-482913" -> "A U 4 8 2 9 1 3"."""
    return " ".join(ch for ch in value.upper() if ch.isalnum())


def digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def listing(items: list[str]) -> str:
    """["a", "b", "c"] -> "a, b, and c"."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def cents_from_dollars(amount: float | int | str) -> int:
    """A dollar amount as the caller said it (12.5, "12.50") -> integer cents, rounded to the cent."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    try:
        value = Decimal(str(amount).replace(",", "").replace("$", "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    return int((value * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
