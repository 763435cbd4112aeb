"""What "today" is for a call: the date the tools file claims on, the agent resolves "yesterday" against and
replacement cards are promised by.

One seam, so a contact center's day follows its own time zone (a caller at 8 pm in Seattle is still on
today's date, whatever the server's clock says) and so a demo or an eval can pin the date its scripts were
written for ("a replacement arrives by December 8th" only holds for calls placed on December 6th).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class BusinessClock:
    """The business date and time. Immutable, so one clock may serve every call of a process."""

    zone: tzinfo | None = None
    """The business's time zone; None: the server's local zone."""
    pinned: date | None = None
    """A fixed date (demos, evals); None: the real date in `zone`."""

    @classmethod
    def named(cls, zone: str = "", pinned: date | None = None) -> BusinessClock:
        """A clock for an IANA zone name ("America/Los_Angeles"; "" for the server's own). Raises ValueError
        for a name the time-zone database does not know."""
        if not zone:
            return cls(None, pinned)
        try:
            return cls(ZoneInfo(zone), pinned)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {zone!r} (an IANA name such as 'America/New_York')") from exc

    def now(self) -> datetime:
        """The business's wall-clock time, naive (the demo data's timestamps are naive business times); a pinned
        date keeps the real time of day."""
        current = datetime.now(self.zone).replace(tzinfo=None)
        if self.pinned is None:
            return current
        return datetime.combine(self.pinned, time(current.hour, current.minute, current.second))

    def today(self) -> date:
        return self.pinned if self.pinned is not None else self.now().date()

    def prompt_line(self) -> str:
        """ "Today is Sunday, December 6, 2026 (2026-12-06).": the line every system prompt ends with, so a model
        can turn "yesterday" into a date and tell a date in the future."""
        day = self.today()
        return f"Today is {day:%A, %B} {day.day}, {day.year} ({day.isoformat()})."

    def with_prompt_line(self, prompt: str) -> str:
        return f"{prompt}\n\n{self.prompt_line()}" if prompt else self.prompt_line()
