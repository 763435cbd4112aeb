"""A snapshot packed in one process and unpacked in another is the same registry: same version, agents,
scenarios, catalogs and tools, with generated tools rebuilt and discovered tools resolved to this process's
own functions; a tool file changed in between is refused rather than mixed in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from registries.loader import RegistrySnapshot, load_registry
from registries.toolstore.discovery import LOOSE_PREFIX
from registries.transfer import StaleTransfer, pack_snapshot, unpack_snapshot
from tests.unit.registries.trees import write


def _same(packed: RegistrySnapshot, unpacked: RegistrySnapshot) -> None:
    assert unpacked.version == packed.version
    assert unpacked.diff(packed).is_empty
    assert unpacked.sources == packed.sources
    for name, agent in packed.agents.items():
        assert unpacked.agents[name].model_dump() == agent.model_dump()
        assert unpacked.agents[name].prompt_template == agent.prompt_template
    for name, scenario in packed.scenarios.items():
        assert unpacked.scenarios[name] == scenario
        for number in scenario.phone_numbers:
            assert unpacked.scenario_for_number(number, "banking").name == name
        for member in scenario.agents:
            mine, theirs = packed.catalog_for(member, name), unpacked.catalog_for(member, name)
            assert [(t.name, t.fingerprint) for t in theirs.values()] == [
                (t.name, t.fingerprint) for t in mine.values()
            ]
    assert {n: t.fingerprint for n, t in unpacked.tools.items()} == {
        n: t.fingerprint for n, t in packed.tools.items()
    }


def test_the_shipped_registry_with_a_tree_of_agents_and_tool_files_crosses_whole(tree: Path) -> None:
    snapshot = load_registry([tree])
    assert any(t.intake for t in snapshot.tools.values()) and any(t.handoff for t in snapshot.tools.values())

    unpacked = unpack_snapshot(pack_snapshot(snapshot))

    _same(snapshot, unpacked)
    for name, spec in snapshot.tools.items():
        if spec.handoff is None and spec.intake is None:  # discovered: this process's own function
            assert unpacked.tools[name] is spec
        else:  # generated: rebuilt here, the same tool
            assert unpacked.tools[name] is not spec
            assert unpacked.tools[name].handoff == spec.handoff and unpacked.tools[name].intake == spec.intake


def test_a_tool_shared_by_catalogs_is_rebuilt_once(tree: Path) -> None:
    snapshot = load_registry([tree])
    unpacked = unpack_snapshot(pack_snapshot(snapshot))
    shared = 0
    for (agent, scenario), catalog in snapshot._agent_tools.items():
        for name, spec in catalog.items():
            same = unpacked.catalog_for(agent, scenario)[name] is unpacked.tools[name]
            assert same == (spec is snapshot.tools[name]), (agent, scenario, name)
            shared += same and spec.handoff is not None
    assert shared > 0  # handoff tools are generated: rebuilt once, shared like in the original


def test_a_tool_file_changed_after_packing_is_refused(tree: Path) -> None:
    snapshot = load_registry([tree], shipped=False)
    packed = pack_snapshot(snapshot)
    tools = tree / "tools" / "desk_tools.py"
    write(tree, "tools/desk_tools.py", tools.read_text().replace("Look up the status", "Find the status"))
    for name in [m for m in sys.modules if m.startswith(f"{LOOSE_PREFIX}desk_tools_")]:
        del sys.modules[name]  # as in a process that never imported the version the loader saw

    with pytest.raises(StaleTransfer, match=r"desk_tools\.py"):
        unpack_snapshot(packed)


def test_anything_but_a_packed_snapshot_is_refused() -> None:
    import pickle

    with pytest.raises(TypeError, match="RegistrySnapshot"):
        unpack_snapshot(pickle.dumps({"version": "x"}))
