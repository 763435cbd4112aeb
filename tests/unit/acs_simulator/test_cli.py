"""`switchboard call` argument handling and its one-line errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from apps import loopback_acs
from apps.acs_simulator.caller_audio import Pause, PlayWav, Say, SendDtmf, WaitForAgent
from apps.acs_simulator.cli import build_parser, build_script, event_grid_secret, main


def steps(*argv: str) -> list:
    return build_parser().parse_args(list(argv)).steps


def test_script_options_keep_the_order_they_were_written():
    assert steps(
        "--say", "hi", "--pause", "1.5", "--say", "bye", "--wav", "a.wav", "--dtmf", "12", "--wait"
    ) == [
        ("say", "hi"),
        ("pause", 1.5),
        ("say", "bye"),
        ("wav", Path("a.wav")),
        ("dtmf", "12"),
        ("wait", []),
    ]


def test_auto_wait_lets_the_agent_answer_between_caller_turns():
    script = build_script(steps("--say", "hi", "--pause", "1", "--say", "my card", "--dtmf", "1"))
    assert script == [
        WaitForAgent(),  # the greeting
        Say("hi"),
        Pause(1.0),
        Say("my card"),  # right after an explicit pause: no extra wait
        WaitForAgent(),
        SendDtmf("1"),
        WaitForAgent(),  # the answer to the last turn
    ]


def test_no_auto_wait_plays_exactly_what_was_written():
    script = build_script(steps("--wav", "a.wav", "--say", "x"), auto_wait=False)
    assert script == [PlayWav(Path("a.wav")), Say("x")]


def test_defaults():
    args = build_parser().parse_args([])
    assert (args.backend, args.host, args.port) == ("http://127.0.0.1:8000", "127.0.0.1", 8090)
    assert (args.max_seconds, args.hangup_after_silence) == (60.0, 2.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_backend_is_one_line_and_non_zero(capsys):
    code = main(["--backend", f"http://127.0.0.1:{free_port()}", "--port", "0", "--pause", "0.1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("error: backend webhook http://127.0.0.1:")
    assert "not reachable" in err
    assert "Traceback" not in err


def test_a_bad_script_is_rejected_before_calling(capsys):
    assert main(["--dtmf", "12x", "--port", "0"]) == 2
    assert capsys.readouterr().err == "error: dtmf: digits must be from 0-9 * # A-D, got '12x'\n"


def test_a_busy_port_is_a_clear_error(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--port", str(port), "--pause", "0.1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"error: ACS simulator cannot listen on 127.0.0.1:{port}")
    assert err.count("\n") == 1


def test_the_webhook_secret_is_the_one_the_backend_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EVENT_GRID_SECRET", raising=False)
    assert event_grid_secret(None) == loopback_acs.SIMULATOR_EVENT_GRID_SECRET  # `make run` with no settings
    (tmp_path / ".env").write_text("EVENT_GRID_SECRET=from-the-dot-env-file\n")
    assert event_grid_secret(None) == "from-the-dot-env-file"
    monkeypatch.setenv("EVENT_GRID_SECRET", "from-the-environment")
    assert event_grid_secret(None) == "from-the-environment"
    assert event_grid_secret("given-on-the-command-line") == "given-on-the-command-line"
    assert build_parser().parse_args(["--event-grid-secret", "x"]).event_grid_secret == "x"
