"""RegistryHolder.refresh: a load that raises SystemExit/KeyboardInterrupt in its worker thread is a bad
registry (RegistryError), never a stop of the server, and the live snapshot stays."""

from __future__ import annotations

import pytest

from apps.backend.registry.holder import RegistryHolder
from registries.loader import RegistryError, RegistrySnapshot, load_registry


@pytest.mark.parametrize("raised", [SystemExit(2), KeyboardInterrupt()])
async def test_a_load_raising_a_base_exception_is_a_registry_error(raised: BaseException) -> None:
    live = load_registry()

    def loader() -> RegistrySnapshot:
        raise raised

    holder = RegistryHolder(live, loader)
    with pytest.raises(RegistryError) as caught:
        await holder.refresh()
    assert [i.message for i in caught.value.issues] == [f"loading raised {type(raised).__name__}: {raised}"]
    assert holder.current is live
