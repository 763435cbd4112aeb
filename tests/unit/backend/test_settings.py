import pytest
from pydantic import ValidationError

from apps import loopback_acs as simulator
from apps.backend.setting_values import AcsAudioFormat
from apps.backend.settings import ACS_PUBLIC_OPENID_CONFIG_URL, Settings

REAL_ACS = "endpoint=https://switchboard.communication.azure.com/;accesskey=c2VjcmV0"


def test_no_acs_settings_means_the_simulator_with_its_keys() -> None:
    settings = Settings(_env_file=None)
    assert settings.uses_acs_simulator
    assert simulator.SIMULATOR_ACCESS_KEY in settings.effective_acs_connection_string
    source = settings.acs_jwt_source
    assert source is not None
    assert (
        source.openid_config_url == simulator.simulator_endpoint().rstrip("/") + simulator.OPENID_CONFIG_PATH
    )
    assert source.audience == simulator.SIMULATOR_RESOURCE_ID


def test_a_loopback_connection_string_is_a_simulator_with_its_own_keys() -> None:
    settings = Settings(
        _env_file=None, acs_connection_string=simulator.simulator_connection_string(port=9123)
    )
    assert settings.uses_acs_simulator
    source = settings.acs_jwt_source
    assert (
        source is not None
        and source.openid_config_url == "http://127.0.0.1:9123" + simulator.OPENID_CONFIG_PATH
    )


def test_real_acs_validates_jwts_with_the_public_acs_configuration_by_default() -> None:
    settings = Settings(_env_file=None, acs_connection_string=REAL_ACS, acs_resource_id="res-1")
    assert not settings.uses_acs_simulator
    source = settings.acs_jwt_source
    assert source is not None
    assert source.openid_config_url == ACS_PUBLIC_OPENID_CONFIG_URL
    assert (source.jwks_url, source.issuer, source.audience) == (None, None, "res-1")


def test_real_acs_without_a_resource_id_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match="ACS_RESOURCE_ID is required"):
        Settings(_env_file=None, acs_connection_string=REAL_ACS)


def test_explicit_keys_and_issuer_override_the_configuration() -> None:
    settings = Settings(
        _env_file=None,
        acs_connection_string=REAL_ACS,
        acs_resource_id="res-1",
        acs_jwks_url="https://keys.example/jwks",
        acs_jwt_issuer="https://issuer.example",
    )
    source = settings.acs_jwt_source
    assert source is not None and (source.jwks_url, source.issuer) == (
        "https://keys.example/jwks",
        "https://issuer.example",
    )


def test_validation_off_takes_an_explicit_setting() -> None:
    settings = Settings(_env_file=None, acs_connection_string=REAL_ACS, acs_jwt_validation="OFF")
    assert settings.acs_jwt_source is None


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
