"""WORKERS=N plumbing that needs no server: one port reserved for every worker, each worker's own listener on
it, and the supervisor's status file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from apps.backend.settings import Settings
from apps.backend.workers import WorkerProcess, _write_status, reserve_port, reuseport_socket


def test_workers_listen_on_the_port_the_supervisor_reserved() -> None:
    reserve, port = reserve_port("127.0.0.1", 0)
    listeners = [reuseport_socket("127.0.0.1", port) for _ in range(2)]
    try:
        assert port > 0
        for listener in listeners:
            listener.listen(8)
        # The reserving socket never listens, so connections only ever reach a worker.
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        for sock in (reserve, *listeners):
            sock.close()


def test_the_status_file_names_each_worker_and_its_private_port(tmp_path: Path) -> None:
    path = tmp_path / "run" / "workers.json"
    settings = Settings(_env_file=None, worker_status_file=path, workers=2)
    workers = [
        WorkerProcess(0, 101, -1, -1, private_port=5001),
        WorkerProcess(1, 102, -1, -1, private_port=5002),
    ]
    _write_status(settings, 8000, workers)
    status = json.loads(path.read_text())
    assert status["port"] == 8000
    assert status["workers"] == [
        {"index": 0, "pid": 101, "private_port": 5001},
        {"index": 1, "pid": 102, "private_port": 5002},
    ]
