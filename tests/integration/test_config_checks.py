"""`switchboard serve` and `switchboard check` as real processes on bad settings: one clear line naming each
problem, a non-zero exit, never a traceback. Run in a temp directory so no `.env` is read."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from apps.backend.settings import Settings
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
REAL_ACS = "endpoint=https://switchboard-test.communication.azure.com/;accesskey=c2VjcmV0LWtleQ=="


def _env(**settings: str) -> dict[str, str]:
    """This process's environment without any service setting, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["PYTHONPATH"] = str(ROOT)
    env["PORT"] = str(free_port())  # should a bad setting slip through, serve must not take a shared port
    env.update(settings)
    return env


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apps.backend.cli", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _bad_agents_dir(tmp_path: Path) -> str:
    agents = tmp_path / "registry" / "agents"
    agents.mkdir(parents=True)
    (agents / "typo.yaml").write_text("name: typo\n  greeting: [oops\n")
    return str(tmp_path / "registry")


BAD = {
    "short media secret": ({"MEDIA_TOKEN_SECRET": "short"}, "MEDIA_TOKEN_SECRET"),
    "port not a number": ({"PORT": "abc"}, "PORT"),
    "redis unreachable": ({"REDIS_URL": "redis://127.0.0.1:{free}/0"}, "REDIS_URL"),
    "cosmos without key": ({"COSMOS_ENDPOINT": "https://127.0.0.1:{free}/"}, "COSMOS_KEY"),
    "missing agents dir": ({"AGENTS_DIR": "{tmp}/no-such-dir"}, "AGENTS_DIR"),
    "yaml typo": ({"AGENTS_DIR": "{bad_agents}"}, "typo.yaml:2"),
    "bad log level": ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    "unknown default scenario": ({"DEFAULT_SCENARIO": "no-such-scenario"}, "DEFAULT_SCENARIO"),
    "real acs without resource id": ({"ACS_CONNECTION_STRING": REAL_ACS}, "ACS_RESOURCE_ID"),
}


@pytest.mark.parametrize("command", ["serve", "check"])
@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_setting_is_one_clear_line_and_a_non_zero_exit(tmp_path: Path, command: str, case: str) -> None:
    values, named = BAD[case]
    placeholders = {"free": str(free_port()), "tmp": str(tmp_path)}
    if "{bad_agents}" in values.get("AGENTS_DIR", ""):
        placeholders["bad_agents"] = _bad_agents_dir(tmp_path)
    env = _env(**{k: v.format(**placeholders) for k, v in values.items()})
    result = _run(command, tmp_path, env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    if command == "serve":
        problems = [line for line in result.stderr.splitlines() if line.startswith("switchboard serve: ")]
        problems = [line for line in problems if "not started" not in line]
    else:
        problems = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert len(problems) == 1, output
    assert named in problems[0], output


def test_check_on_the_embedded_defaults_passes(tmp_path: Path) -> None:
    result = _run("check", tmp_path, _env())
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "configuration ok"
    assert any(line.startswith("embedded") and "redis" in line for line in lines)
    assert not any(line.startswith("error") for line in lines)


def test_check_probes_configured_services(tmp_path: Path) -> None:
    """A configured Cosmos that does not answer is a problem for `check` (serve would spool instead)."""
    env = _env(COSMOS_ENDPOINT=f"http://127.0.0.1:{free_port()}/", COSMOS_KEY="a2V5")
    result = _run("check", tmp_path, env)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "COSMOS_ENDPOINT: cannot reach http://127.0.0.1" in errors[0], result.stdout


def test_check_reaches_a_grpc_tracing_endpoint_over_tcp(tmp_path: Path) -> None:
    """Container Apps' managed agent takes OTLP over gRPC only: an HTTP/1.1 probe of its port fails although
    the port is there, so with OTEL_EXPORTER_OTLP_PROTOCOL=grpc `check` opens a TCP connection instead."""
    with socket.create_server(("127.0.0.1", 0)) as listening:
        port = listening.getsockname()[1]
        env = _env(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{port}", OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        result = _run("check", tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    (tracing,) = [line for line in result.stdout.splitlines() if "tracing:" in line]
    assert tracing.startswith("ok") and f"127.0.0.1:{port}" in tracing and "gRPC" in tracing, result.stdout


def test_check_warns_of_an_otlp_protocol_the_service_does_not_export(tmp_path: Path) -> None:
    env = _env(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}", OTEL_EXPORTER_OTLP_PROTOCOL="http/json"
    )
    result = _run("check", tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    (tracing,) = [line for line in result.stdout.splitlines() if "tracing:" in line]
    assert tracing.startswith("warning") and "'http/json'" in tracing and "tracing off" in tracing, (
        result.stdout
    )
