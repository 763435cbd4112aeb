import pytest
from pydantic import ValidationError

from apps import loopback_acs as simulator
from apps.backend.settings import AcsAudioFormat, Settings


def test_no_acs_settings_means_the_simulator_with_its_jwks() -> None:
    settings = Settings(_env_file=None)
    assert settings.uses_acs_simulator
    assert simulator.SIMULATOR_ACCESS_KEY in settings.effective_acs_connection_string
    assert settings.effective_acs_jwks_url and settings.effective_acs_jwks_url.endswith(simulator.JWKS_PATH)
    assert settings.effective_acs_resource_id == simulator.SIMULATOR_RESOURCE_ID


def test_real_acs_without_jwks_is_unauthenticated_not_pointed_at_the_simulator() -> None:
    settings = Settings(_env_file=None, acs_connection_string="endpoint=https://x/;accesskey=c2VjcmV0")
    assert not settings.uses_acs_simulator
    assert settings.effective_acs_jwks_url is None


@pytest.mark.parametrize(
    "base, ws",
    [("https://voice.example.com", "wss://voice.example.com"), ("http://127.0.0.1:9", "ws://127.0.0.1:9")],
)
def test_websocket_scheme_follows_public_base_url(base: str, ws: str) -> None:
    assert Settings(_env_file=None, public_base_url=base + "/").websocket_base_url == ws


def test_public_base_url_must_be_http() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, public_base_url="voice.example.com")


def test_audio_formats_map_to_acs_wire_names_and_rates() -> None:
    assert AcsAudioFormat.PCM16K.wire_name == "pcm16KMono" and AcsAudioFormat.PCM16K.sample_rate == 16000
    assert AcsAudioFormat.PCM24K.wire_name == "pcm24KMono" and AcsAudioFormat.PCM24K.sample_rate == 24000


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACS_AUDIO_FORMAT", "pcm24k")
    monkeypatch.setenv("ORCHESTRATOR", "voicelive")
    settings = Settings(_env_file=None)
    assert settings.acs_audio_format is AcsAudioFormat.PCM24K
    assert settings.orchestrator.value == "voicelive"


def test_scenario_numbers_come_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCENARIO_NUMBERS", '{"+18005550200": "insurance"}')
    assert Settings(_env_file=None).scenario_numbers == {"+18005550200": "insurance"}
