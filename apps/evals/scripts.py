"""Caller scripts: the YAML format of an eval suite, loaded with file and line in every error.

```yaml
suite: banking              # a name; defaults to the file name
scenario: banking           # which scenario's phone number is dialled
placed_on: 2026-12-06       # the day the calls are placed: "yesterday" and expected dates are written for it
voices: [espeak-us, espeak-f3]   # caller voices every call runs with (a call may narrow this)
calls:
  - id: balance-hesitant
    tags: [hesitation]
    turns:
      - say: "uh hi, I wanted to, um, see how much is in checking"
      - say: "Jordan Rivera, last four four eight two one"
      - say: "my account number ends in"   # a sentence with a pause in the middle:
      - say: "four eight two one"          #   the next part follows after `pause`, without waiting
        wait: false
        pause: 0.8
      - say: "actually never mind"         # talks over the agent's reply 900 ms in
        barge_in_ms: 900
      - dtmf: "4821#"
    expect:
      tools:                                # in this order, among whatever else ran
        - {name: verify_identity, args: {full_name: Jordan Rivera, account_last4: "4821"}}
        - get_balance
      agents: [concierge]                  # visited (the start agent counts)
      says: ["2,450", "seventy five cents"] # facts the agent must speak (any spelling of spaces/case)
      not_tools: [end_call, transfer_to_human]   # the default: no wrongful hang-up or transfer
```
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from registries.yamldoc import YamlDocError, load_yaml_doc, plain, pos_of

DEFAULT_FORBIDDEN = ("end_call", "transfer_to_human")
MAX_TURNS = 24


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallerTurn(_Model):
    """One thing the caller does: say a line or key digits, after waiting for the agent (or not)."""

    say: str | None = Field(None, max_length=400)
    dtmf: str | None = Field(None, pattern=r"^[0-9*#]{1,20}$")
    wait: bool = True
    """Wait for the agent to finish answering first (false: go on right after `pause`)."""
    pause: float = Field(0.0, ge=0, le=20)
    """Seconds of silence before this turn (after the wait)."""
    barge_in_ms: float | None = Field(None, ge=0, le=10_000)
    """Instead of waiting for the agent to finish, start talking this long into its answer."""

    @model_validator(mode="after")
    def _one_action(self) -> CallerTurn:
        if (self.say is None) == (self.dtmf is None):
            raise ValueError("a turn has exactly one of `say` or `dtmf`")
        if self.say is not None and not self.say.strip():
            raise ValueError("`say` is empty")
        return self


class ExpectedTool(_Model):
    name: str
    args: dict[str, Any] = {}
    """Arguments that must have these values (others may be present); compared case- and space-insensitively."""
    ok: bool | None = None
    """Whether the call must have succeeded (None: either)."""


class Expectations(_Model):
    tools: list[ExpectedTool] = []
    agents: list[str] = []
    says: list[str] = []
    not_tools: list[str] = list(DEFAULT_FORBIDDEN)
    not_says: list[str] = []

    @field_validator("tools", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value


class CallScript(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    description: str = ""
    tags: list[str] = []
    voices: list[str] | None = None
    """Caller voices for this call (default: the suite's)."""
    turns: list[CallerTurn] = Field(min_length=1, max_length=MAX_TURNS)
    expect: Expectations
    max_seconds: float = Field(120.0, gt=0, le=600)


class Suite(_Model):
    suite: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    scenario: str
    placed_on: date
    """The day its calls are placed on: "yesterday", "by December 8th" and expected claim dates are written for
    it, and the runners pin the service's business date to it (BUSINESS_DATE)."""
    voices: list[str] = ["espeak-us"]
    calls: list[CallScript] = Field(min_length=1)
    path: Path | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for call in self.calls:
            if call.id in seen:
                raise ValueError(f"call id {call.id!r} is used twice")
            seen.add(call.id)
        return self


class SuiteError(ValueError):
    """A suite file that cannot be used: the message names the file and line."""


SUITES_DIR = Path(__file__).parent / "suites"


def load_suite(path: Path) -> Suite:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{path}: {exc.strerror or exc}") from exc
    try:
        doc, _ = load_yaml_doc(path, text)
    except YamlDocError as exc:
        where = f"{exc.file}:{exc.line}" if exc.line else str(exc.file)
        raise SuiteError(f"{where}: {exc.message}") from exc
    if not isinstance(doc, dict):
        raise SuiteError(f"{path}: a suite is a mapping with `scenario` and `calls`")
    data = dict(plain(doc))
    data.setdefault("suite", path.stem)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        pos = pos_of(doc, loc)
        where = f"{path}:{pos.line}" if pos is not None else str(path)
        field = ".".join(str(p) for p in loc) or "(top level)"
        raise SuiteError(f"{where}: {field}: {first['msg']}") from exc
    return suite.model_copy(update={"path": path})


def find_suites(names: list[str], directory: Path = SUITES_DIR) -> list[Suite]:
    """Suites by name (a file stem under `directory`) or path; every suite there when `names` is empty."""
    if not names:
        return [load_suite(p) for p in sorted(directory.glob("*.yaml"))]
    suites: list[Suite] = []
    for name in names:
        candidate = Path(name)
        if not candidate.is_file():
            candidate = directory / f"{name}.yaml"
        if not candidate.is_file():
            known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml")))
            raise SuiteError(f"no suite {name!r} (known: {known})")
        suites.append(load_suite(candidate))
    return suites
