"""The shape of an identifier parameter, read from the example in its description ("The policy number, like
AU-482913" -> "LL-DDDDDD": 'L' a letter, 'D' a digit, anything else literal). Shared by the registry (routing
hints for handoffs) and the local brain (reading identifiers said aloud)."""

from __future__ import annotations

import re

_EXAMPLE = re.compile(r"\b(?:like|e\.g\.|for example|such as)\s+([A-Za-z0-9][A-Za-z0-9-]*[0-9])")


def example_shape(description: str) -> str | None:
    match = _EXAMPLE.search(description)
    if not match:
        return None
    return "".join("L" if c.isalpha() else "D" if c.isdigit() else c for c in match.group(1).upper())
