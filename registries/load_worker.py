"""`python -m registries.load_worker`: a process that loads registries on request, so the backend's event
loop does not share its GIL with YAML parsing and validation during `POST /api/v1/agents/refresh`.

Protocol (the parent is `apps/backend/registry/loader_process.py`): one JSON line per request on stdin,
`{"dirs": ["/path/of/AGENTS_DIR", ...]}`; one frame per reply on the process's original stdout, an 8-byte
big-endian length then a pickle of a `WorkerReply`. The first frame, before any request, says the process
is ready. Anything the loaded tool modules print goes to stderr (stdout is the protocol's).

The process stays up between requests, so files that did not change are not parsed again (the loader's
parse cache). It runs at the service's own priority: a niceness of 10 starved it behind other processes on
a busy core (refreshes up to 2x slower) for no gain in the calls' frame lag. Nor does it keep the CPU pin it
inherits: a service pinned to one core (`taskset`, one worker per core) carries its calls there, and a
refresh parsed on that same core takes its time from their frames and takes 2-6x longer; unpinned, the
kernel runs the load on whichever allowed core is free (the cgroup's cpuset still bounds it). It ignores SIGINT (a Ctrl-C in
the terminal stops the service, which closes stdin, which ends this process).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from registries.loader import load_registry
from registries.transfer import pack_snapshot
from registries.validation import RegistryError, RegistryIssue

NICENESS = 0  # added to the inherited niceness
HEADER_BYTES = 8


@dataclass(frozen=True)
class WorkerReply:
    kind: Literal["ready", "ok", "invalid"]
    packed: bytes = b""  # `pack_snapshot` of the loaded registry ("ok")
    issues: list[RegistryIssue] = field(default_factory=list)  # every problem ("invalid")
    load_ms: float = 0.0
    pack_ms: float = 0.0


def load(dirs: list[Path]) -> WorkerReply:
    """Load the shipped registry plus `dirs`; never raises for a bad registry."""
    started = time.perf_counter()
    try:
        snapshot = load_registry(dirs or None)
    except RegistryError as exc:
        return WorkerReply("invalid", issues=exc.issues)
    except BaseException as exc:  # as a refresh in a thread reports it (the holder's _load_in_worker)
        issue = RegistryIssue("<registry>", None, None, f"loading raised {type(exc).__name__}: {exc}")
        return WorkerReply("invalid", issues=[issue])
    loaded = time.perf_counter()
    packed = pack_snapshot(snapshot)
    return WorkerReply(
        "ok",
        packed=packed,
        load_ms=round((loaded - started) * 1000, 2),
        pack_ms=round((time.perf_counter() - loaded) * 1000, 2),
    )


def write_frame(out: BinaryIO, reply: WorkerReply) -> None:
    data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(HEADER_BYTES, "big") + data)
    out.flush()


def serve(requests: BinaryIO, out: BinaryIO) -> None:
    write_frame(out, WorkerReply("ready"))
    for line in requests:
        request = json.loads(line)
        write_frame(out, load([Path(d) for d in request.get("dirs", [])]))


def unpin() -> set[int]:
    """Allow this process every CPU the machine (and its cgroup) allows; returns the set now in force.
    Called first, before any thread starts, so the process's later threads inherit it."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))  # the kernel keeps its cpuset's part of it
    with contextlib.suppress(AttributeError):
        return os.sched_getaffinity(0)
    return set()


def main() -> int:
    unpin()
    if NICENESS:
        with contextlib.suppress(OSError):
            os.nice(NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a tool module's print() must not corrupt a frame
    with out:
        serve(sys.stdin.buffer, out)
    return 0


if __name__ == "__main__":
    # Run the module's copy under its real name: replies must unpickle as registries.load_worker.WorkerReply.
    from registries import load_worker

    raise SystemExit(load_worker.main())
