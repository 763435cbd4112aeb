"""Which Event Grid authentication the settings give, and that real ACS never runs with the webhook open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from apps import loopback_acs
from apps.backend.acs.event_grid_auth import (
    EventGridAuthConfigError,
    EventGridAuthError,
    build_event_grid_auth,
)
from apps.backend.runtime import Runtime
from apps.backend.setting_values import EventGridAuthMode
from apps.backend.settings import Settings

REAL_ACS = "endpoint=https://contoso.communication.azure.com/;accesskey=c2VjcmV0"
SECRET = "s3cret-from-the-subscription-url"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def settings(**values: Any) -> Settings:
    if values.get("acs_connection_string") == REAL_ACS:  # real ACS requires the JWT audience too
        values.setdefault("acs_resource_id", "00000000-0000-0000-0000-00000000a0c5")
    return Settings(_env_file=None, **values)


async def test_embedded_defaults_expect_the_simulators_loopback_secret(http: httpx.AsyncClient) -> None:
    auth = build_event_grid_auth(settings(), http)
    assert auth.mode is EventGridAuthMode.SECRET
    await auth.authenticate(loopback_acs.SIMULATOR_EVENT_GRID_SECRET, None)
    with pytest.raises(EventGridAuthError, match="missing"):
        await auth.authenticate(None, None)
    with pytest.raises(EventGridAuthError, match="wrong"):
        await auth.authenticate(loopback_acs.SIMULATOR_EVENT_GRID_SECRET + "x", None)


@pytest.mark.parametrize("mode", [EventGridAuthMode.AUTO, EventGridAuthMode.SECRET, EventGridAuthMode.BOTH])
def test_real_acs_without_event_grid_credentials_refuses_to_start(
    http: httpx.AsyncClient, mode: EventGridAuthMode
) -> None:
    with pytest.raises(EventGridAuthConfigError, match="EVENT_GRID_SECRET"):
        build_event_grid_auth(settings(acs_connection_string=REAL_ACS, event_grid_auth=mode), http)


async def test_the_runtime_refuses_before_starting_anything() -> None:
    with pytest.raises(EventGridAuthConfigError, match="EVENT_GRID_AUTH=insecure-off"):
        await Runtime.start(settings(acs_connection_string=REAL_ACS))


async def test_insecure_off_is_the_only_way_to_an_open_webhook(http: httpx.AsyncClient) -> None:
    auth = build_event_grid_auth(
        settings(acs_connection_string=REAL_ACS, event_grid_auth=EventGridAuthMode.INSECURE_OFF), http
    )
    await auth.authenticate(None, None)


async def test_a_configured_secret_and_its_predecessor_are_accepted(http: httpx.AsyncClient) -> None:
    auth = build_event_grid_auth(
        settings(
            acs_connection_string=REAL_ACS,
            event_grid_secret=SECRET,
            event_grid_secret_previous="old-" + SECRET,
        ),
        http,
    )
    assert auth.mode is EventGridAuthMode.SECRET
    await auth.authenticate(SECRET, None)
    await auth.authenticate("old-" + SECRET, None)
    with pytest.raises(EventGridAuthError):
        await auth.authenticate(loopback_acs.SIMULATOR_EVENT_GRID_SECRET, None)


async def test_with_a_secret_the_simulator_default_no_longer_opens_the_door(http: httpx.AsyncClient) -> None:
    auth = build_event_grid_auth(settings(event_grid_secret=SECRET), http)
    with pytest.raises(EventGridAuthError):
        await auth.authenticate(loopback_acs.SIMULATOR_EVENT_GRID_SECRET, None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"event_grid_secret": "short"}, "at least 16"),
        ({"event_grid_secret_previous": SECRET}, "EVENT_GRID_SECRET is not"),
        ({"event_grid_entra_tenant_id": TENANT}, "EVENT_GRID_ENTRA_AUDIENCE"),
        (
            {"event_grid_auth": EventGridAuthMode.ENTRA, "event_grid_secret": SECRET},
            "EVENT_GRID_ENTRA_TENANT_ID",
        ),
    ],
)
def test_half_configured_auth_is_a_clear_start_up_error(
    http: httpx.AsyncClient, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(EventGridAuthConfigError, match=message):
        build_event_grid_auth(settings(acs_connection_string=REAL_ACS, **values), http)


async def test_secret_and_entra_together_require_both(http: httpx.AsyncClient) -> None:
    auth = build_event_grid_auth(
        settings(
            acs_connection_string=REAL_ACS,
            event_grid_secret=SECRET,
            event_grid_entra_tenant_id=TENANT,
            event_grid_entra_audience="api://switchboard",
        ),
        http,
    )
    assert auth.mode is EventGridAuthMode.BOTH and auth.uses_entra
    with pytest.raises(EventGridAuthError, match="Entra bearer token rejected: missing Authorization"):
        await auth.authenticate(SECRET, None)
    with pytest.raises(EventGridAuthError, match="missing"):
        await auth.authenticate(None, "Bearer x")
