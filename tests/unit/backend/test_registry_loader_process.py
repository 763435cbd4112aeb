"""The registry load worker process: it loads what the service would load in a thread (same version, same
problems with the same files and lines), survives being killed, and the holder falls back to a thread
whenever it cannot serve."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apps.backend.registry.holder import RegistryHolder
from apps.backend.registry.loader_process import LoaderUnavailable, RegistryLoaderProcess
from registries.loader import RegistryError, load_registry
from registries.toolstore.context import ToolContext
from tests.unit.registries.trees import tree, write

__all__ = ["tree"]


@pytest.fixture
async def worker(tree: Path) -> AsyncIterator[RegistryLoaderProcess]:
    process = RegistryLoaderProcess([tree])
    assert await process.start()
    try:
        yield process
    finally:
        await process.close()


async def test_it_loads_the_registry_the_service_would_load(
    tree: Path, worker: RegistryLoaderProcess
) -> None:
    here = load_registry([tree])

    loaded = await worker.load()

    assert loaded.snapshot.version == here.version
    assert loaded.snapshot.diff(here).is_empty
    assert loaded.worker_load_ms > 0 and loaded.unpack_ms > 0
    ctx = ToolContext(call_id="c1", caller="+15550100", scenario="helpdesk", agent="front_desk")
    result = await loaded.snapshot.tools.invoke("lookup_order", {"order_id": "42"}, ctx)  # a tree tool file
    assert result.ok and result.output["status"] == "shipped"


async def test_an_invalid_registry_reports_the_same_problems_as_a_load_here(
    tree: Path, worker: RegistryLoaderProcess
) -> None:
    write(tree, "agents/support.yaml", "name: support\ndescription: [unclosed\n")
    write(tree, "tools/exits.py", "from registries.toolstore import tool\n\n\nraise SystemExit(3)\n")
    with pytest.raises(RegistryError) as here:
        load_registry([tree])

    with pytest.raises(RegistryError) as there:
        await worker.load()

    assert [i.to_json() for i in there.value.issues] == [i.to_json() for i in here.value.issues]
    assert {(Path(str(i.file)).name, i.line) for i in there.value.issues} >= {("exits.py", 4)}


async def test_a_killed_worker_fails_one_load_and_the_next_load_starts_a_new_one(
    tree: Path, worker: RegistryLoaderProcess
) -> None:
    await worker.load()
    first = worker.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    with pytest.raises(LoaderUnavailable):
        await worker.load()
    assert not worker.warm
    with pytest.raises(LoaderUnavailable, match="still starting"):  # a refresh loads in a thread meanwhile
        await worker.load()
    assert await worker.start()
    again = await worker.load()

    assert again.snapshot.version == load_registry([tree]).version
    assert worker.pid not in (None, first)


async def test_the_holder_refreshes_through_the_worker_and_falls_back_to_a_thread(
    tree: Path, worker: RegistryLoaderProcess
) -> None:
    holder = RegistryHolder.from_dirs([tree])
    holder.load_in(worker)
    write(tree, "agents/support.yaml", (tree / "agents/support.yaml").read_text() + "\n# edited\n")

    outcome = await holder.refresh()
    assert outcome.loaded_in == "process" and outcome.worker_load_ms and outcome.unpack_ms is not None
    assert holder.current.version == outcome.version == load_registry([tree]).version

    await worker.close()  # a closed worker cannot serve: the refresh still happens, in a thread
    write(tree, "agents/support.yaml", (tree / "agents/support.yaml").read_text() + "\n# again\n")
    fallback = await holder.refresh()
    assert fallback.loaded_in == "thread" and fallback.worker_load_ms is None
    assert holder.current.version == fallback.version == load_registry([tree]).version != outcome.version


async def test_a_cold_worker_never_holds_a_load_up(tree: Path) -> None:
    cold = RegistryLoaderProcess([tree])
    try:
        with pytest.raises(LoaderUnavailable, match="still starting"):
            await cold.load()  # and a warm-up is under way
        assert await cold.start()
        assert (await cold.load()).snapshot.version == load_registry([tree]).version
    finally:
        await cold.close()


async def test_a_worker_that_cannot_start_leaves_loads_to_a_thread(tree: Path) -> None:
    broken = RegistryLoaderProcess([tree], python="/nonexistent/python")
    try:
        assert not await broken.start()
        holder = RegistryHolder.from_dirs([tree])
        holder.load_in(broken)
        assert (await holder.refresh()).loaded_in == "thread"
    finally:
        await broken.close()


async def test_an_edited_tool_file_goes_live_through_the_worker(
    tree: Path, worker: RegistryLoaderProcess
) -> None:
    holder = RegistryHolder.from_dirs([tree])
    holder.load_in(worker)
    tools = tree / "tools" / "desk_tools.py"
    tools.write_text(tools.read_text().replace("Look up the status of an order.", "Find where an order is."))

    outcome = await holder.refresh()

    assert outcome.loaded_in == "process"
    assert outcome.changed["tools"]["changed"] == ["lookup_order"]
    assert holder.current.tools["lookup_order"].description == "Find where an order is."


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs"
)
async def test_a_service_pinned_to_one_cpu_starts_a_worker_that_may_use_every_cpu(tree: Path) -> None:
    allowed = os.sched_getaffinity(0)
    pinned = {min(allowed)}
    os.sched_setaffinity(0, pinned)  # this thread forks the child: it inherits the pin
    process = RegistryLoaderProcess([tree])
    try:
        assert await process.start()
        assert os.sched_getaffinity(0) == pinned
        assert process.pid is not None
        assert os.sched_getaffinity(process.pid) == allowed
    finally:
        os.sched_setaffinity(0, allowed)
        await process.close()
