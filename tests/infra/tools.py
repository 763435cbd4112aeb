"""Finding the infra checkers (hadolint, checkov, python-hcl2) for tests/infra.

They live in their own virtualenvs under .venv-infra/ (`make infra-check` installs them from
requirements-infra.txt and requirements-checkov.txt), never in the app's venv: checkov alone brings ~90 packages,
and its fork of the HCL parser installs the same `hcl2` module as python-hcl2. So `make test` (app venv) runs the
static checks and skips these, naming `make infra-check`; `make infra-check` runs tests/infra with
SWITCHBOARD_INFRA_CHECK=1, where a missing checker is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA_VENVS = ROOT / ".venv-infra"


def _missing(what: str) -> None:
    message = f"{what} is not installed here: `make infra-check` installs it and runs these tests"
    if os.environ.get("SWITCHBOARD_INFRA_CHECK") == "1":
        pytest.fail(message)
    pytest.skip(message)


def executable(name: str) -> str:
    """Path of an infra checker: on PATH, or in one of the .venv-infra virtualenvs."""
    found = shutil.which(name)
    if found:
        return found
    for venv in ("tools", "checkov"):
        candidate = INFRA_VENVS / venv / "bin" / name
        if candidate.exists():
            return str(candidate)
    _missing(name)
    raise AssertionError("unreachable")


def hcl2() -> ModuleType:
    """python-hcl2 (not checkov's fork, which installs a module of the same name with another API)."""
    try:
        import hcl2 as module
    except ImportError:
        _missing("python-hcl2")
        raise
    if not hasattr(module, "load"):
        _missing("python-hcl2")
    return module
