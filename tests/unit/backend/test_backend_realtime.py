"""Where this process's VoiceLive calls connect, and who gets into its embedded realtime server."""

from types import SimpleNamespace
from typing import Any

import pytest

from apps.backend.realtime import build_realtime, loopback_base_url
from apps.backend.settings import Settings

UNUSED: Any = None  # VAD and registry are only handed on to the engine here
PROVIDERS: Any = SimpleNamespace(stt=None, tts=None, llm=None)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, port=8123, **values)  # type: ignore[call-arg]


def test_without_voicelive_settings_calls_use_the_embedded_server_with_a_private_key() -> None:
    realtime = build_realtime(settings(tts_voice="en-gb"), PROVIDERS, UNUSED, UNUSED)
    assert realtime.voicelive.endpoint == "http://127.0.0.1:8123"
    assert realtime.auth.check(realtime.voicelive.api_key) is not None
    assert realtime.voicelive.default_voice == "en-gb"  # the embedded TTS knows no Azure voice names
    assert realtime.auth.check("anything-else") is None


def test_with_azure_voicelive_calls_go_there_and_outside_clients_need_the_realtime_key() -> None:
    realtime = build_realtime(
        settings(
            azure_voicelive_endpoint="https://vl.example.com",
            azure_voicelive_api_key="azure-key",
            realtime_api_key="outside-key",
        ),
        PROVIDERS,
        UNUSED,
        UNUSED,
    )
    assert (realtime.voicelive.endpoint, realtime.voicelive.api_key) == (
        "https://vl.example.com",
        "azure-key",
    )
    assert realtime.voicelive.default_voice == "en-US-AvaMultilingualNeural"
    assert realtime.auth.check("outside-key") is not None
    assert realtime.auth.check("azure-key") is None  # the Azure key is not a key to our server


def test_minted_secrets_verify_across_replicas_sharing_the_signing_key() -> None:
    one = build_realtime(settings(realtime_secret_key="shared-signing-key"), PROVIDERS, UNUSED, UNUSED)
    other = build_realtime(settings(realtime_secret_key="shared-signing-key"), PROVIDERS, UNUSED, UNUSED)
    value, _expires = one.secrets.issue(60, None)
    assert other.auth.check(value) is not None


def test_a_voicelive_endpoint_needs_its_key() -> None:
    with pytest.raises(ValueError, match="AZURE_VOICELIVE_API_KEY"):
        settings(azure_voicelive_endpoint="https://vl.example.com")


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8123"),
        ("0.0.0.0", "http://127.0.0.1:8123"),
        ("::", "http://[::1]:8123"),
    ],
)
def test_the_process_reaches_itself_on_loopback(host: str, url: str) -> None:
    assert loopback_base_url(settings(host=host)) == url


@pytest.mark.parametrize(
    ("values", "mode"),
    [
        ({}, "semantic"),  # inherit, and TURN_END_MODE is semantic
        ({"voicelive_turn_end_mode": "semantic", "turn_end_mode": "fixed"}, "semantic"),
        ({"voicelive_turn_end_mode": "inherit", "turn_end_mode": "semantic"}, "semantic"),
        ({"voicelive_turn_end_mode": "inherit", "turn_end_mode": "fixed"}, "fixed"),
    ],
)
def test_voicelive_turn_end_mode_and_the_servers_turn_model(values: dict[str, Any], mode: str) -> None:
    model: Any = object()
    realtime = build_realtime(settings(**values), PROVIDERS, UNUSED, UNUSED, model)
    assert realtime.voicelive.turn_end_mode == mode
    assert realtime.engine.turn_model is model
