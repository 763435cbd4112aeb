"""WORKERS=N: one server process per worker (about one per core), each with its own event loop.

The supervisor (the process `switchboard serve` started) forks the workers first, before it runs anything,
so each starts clean. Then it starts the one embedded Redis they share (with REDIS_URL unset) and tells each
worker its URL over a pipe; with REDIS_URL set they all use that. Each worker binds its own listening
socket on HOST:PORT with SO_REUSEPORT, so the kernel spreads connections across workers, and runs the same
uvicorn server and app as a single process would. Calls are routed between workers exactly as between
replicas: the call's media owner claim in Redis (`sb:call-owner:*`) and the owner's command channel
(`apps.backend.calls.routing`), so a callback, hang-up or DTMF reaching any worker reaches the call.

Each worker also listens on a private loopback port (its own `/metrics`, health and API, for per-worker
scraping); with WORKER_STATUS_FILE set the supervisor writes `{"port", "workers": [{"index", "pid",
"private_port"}]}` there once every worker is up.

SIGTERM or SIGINT to the supervisor stops the workers gracefully (each drains like a single server), then
the embedded Redis. A worker that dies on its own takes the service down (the supervisor stops the others
and exits 1) so the process manager above restarts the whole, rather than running short of a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.backend.settings import Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
START_TIMEOUT_S = 120.0
POLL_S = 0.2


@dataclass
class WorkerProcess:
    index: int
    pid: int
    to_worker: int  # pipe: the supervisor's word (a JSON line)
    from_worker: int  # pipe: the worker's private port once it listens
    private_port: int | None = None
    exit_status: int | None = None


def run_workers(app: Any, settings: Settings) -> int:
    """Fork `settings.workers` servers of `app` and supervise them; the exit code of the whole."""
    reserve, port = reserve_port(settings.host, settings.port)
    workers: list[WorkerProcess] = []
    for index in range(settings.workers):
        workers.append(_fork_worker(app, settings, index, port, workers))
    gc.enable()  # the supervisor runs no lifespan (each worker's turns its own collector back on)
    try:
        return asyncio.run(_supervise(settings, workers, port))
    finally:
        reserve.close()


def reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """A bound, never listening SO_REUSEPORT socket: fixes the port (PORT=0 picks one) for every worker
    without taking connections itself."""
    sock = reuseport_socket(host, port)
    return sock, int(sock.getsockname()[1])


# ---------------------------------------------------------------- the worker side ----------------------


def _fork_worker(
    app: Any, settings: Settings, index: int, port: int, siblings: list[WorkerProcess]
) -> WorkerProcess:
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the worker
        # Its own process group: a terminal's Ctrl+C reaches the supervisor only, which then stops each
        # worker once (a second signal would make uvicorn skip the graceful drain).
        os.setpgid(0, 0)
        for fd in [down_w, up_r, *(f for s in siblings for f in (s.to_worker, s.from_worker))]:
            with contextlib.suppress(OSError):
                os.close(fd)
        code = 1
        try:
            code = _worker_main(app, settings, index, port, down_r, up_w)
        except BaseException:
            logging.getLogger(__name__).exception("worker %d failed", index)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(down_r)
    os.close(up_w)
    return WorkerProcess(index, pid, down_w, up_r)


def _worker_main(app: Any, settings: Settings, index: int, port: int, down: int, up: int) -> int:
    import uvicorn

    from apps.backend.cli import server_options

    with os.fdopen(down, "r") as word:
        line = word.readline()
    if not line:
        return 0  # the supervisor went away before the start
    order = json.loads(line)
    # The app's lifespan reads these settings: this process's copy now names the shared Redis and a spool
    # of its own (a durable spool has one writer).
    settings.redis_url = order["redis_url"]
    spool = settings.transcript_spool_path
    settings.transcript_spool_path = spool.with_name(f"{spool.stem}.worker{index}{spool.suffix}")
    settings.workers = 1
    public = reuseport_socket(settings.host, port)
    private = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    private.bind(("127.0.0.1", 0))
    with os.fdopen(up, "w") as report:
        report.write(json.dumps({"private_port": private.getsockname()[1]}) + "\n")
    config = uvicorn.Config(app, host=settings.host, port=port, **server_options(app, settings))
    server = uvicorn.Server(config)
    server.run(sockets=[public, private])
    return 0 if server.started else 1


# ---------------------------------------------------------------- the supervisor side ------------------


async def _supervise(settings: Settings, workers: list[WorkerProcess], port: int) -> int:
    from apps.backend.storage.embedded_redis import EmbeddedRedis

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    embedded: EmbeddedRedis | None = None
    code = 0
    try:
        redis_url = settings.redis_url
        if not redis_url:
            embedded = EmbeddedRedis()
            await embedded.start()
            embedded.supervise(on_restart=_reseed(embedded.url))
            redis_url = embedded.url
        for worker in workers:
            await asyncio.to_thread(_tell, worker, {"redis_url": redis_url})
        await _collect_ports(workers)
        _write_status(settings, port, workers)
        log.info(
            "workers started",
            extra={"workers": len(workers), "port": port, "pids": [w.pid for w in workers]},
        )
        code = await _watch(workers, stopping)
    finally:
        await _stop_workers(workers)
        if embedded is not None:
            await embedded.stop()
    return code


def _tell(worker: WorkerProcess, order: dict[str, Any]) -> None:
    with contextlib.suppress(OSError), os.fdopen(worker.to_worker, "w") as pipe:
        pipe.write(json.dumps(order) + "\n")


async def _collect_ports(workers: list[WorkerProcess]) -> None:
    def read(worker: WorkerProcess) -> None:
        with os.fdopen(worker.from_worker, "r") as pipe:
            line = pipe.readline()
        if line:
            worker.private_port = int(json.loads(line)["private_port"])

    await asyncio.wait_for(asyncio.gather(*(asyncio.to_thread(read, w) for w in workers)), START_TIMEOUT_S)


def _write_status(settings: Settings, port: int, workers: list[WorkerProcess]) -> None:
    path: Path | None = settings.worker_status_file
    if path is None:
        return
    status = {
        "port": port,
        "supervisor_pid": os.getpid(),
        "workers": [{"index": w.index, "pid": w.pid, "private_port": w.private_port} for w in workers],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(status) + "\n")
    tmp.replace(path)


async def _watch(workers: list[WorkerProcess], stopping: asyncio.Event) -> int:
    """Until asked to stop (0) or a worker exits on its own (1)."""
    while not stopping.is_set():
        for worker in workers:
            if _reap(worker):
                log.error(
                    "worker exited: stopping the service",
                    extra={"worker": worker.index, "pid": worker.pid, "status": worker.exit_status},
                )
                return 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), POLL_S)
    return 0


def _reap(worker: WorkerProcess) -> bool:
    if worker.exit_status is not None:
        return True
    try:
        pid, status = os.waitpid(worker.pid, os.WNOHANG)
    except ChildProcessError:
        worker.exit_status = -1
        return True
    if pid == 0:
        return False
    worker.exit_status = os.waitstatus_to_exitcode(status)
    return True


async def _stop_workers(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        if not _reap(worker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGTERM)
    await asyncio.to_thread(_wait_or_kill, workers, STOP_TIMEOUT_S)


def _wait_or_kill(workers: list[WorkerProcess], timeout_s: float) -> None:
    """Wait for every worker to exit (a thread: waitpid blocks); past `timeout_s`, kill what is left."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not all(_reap(w) for w in workers):
        time.sleep(POLL_S)
    for worker in workers:
        if not _reap(worker):
            log.error("worker did not stop: killed", extra={"worker": worker.index, "pid": worker.pid})
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.pid, 0)


def _reseed(redis_url: str) -> Any:
    async def reseed() -> None:
        import redis.asyncio as aioredis

        from registries.toolstore.demo.store import seed_demo_data

        client = aioredis.Redis.from_url(redis_url)
        try:
            if await seed_demo_data(client):
                log.info("demo data seeded again after the embedded redis restarted")
        finally:
            await client.aclose()

    return reseed
