import pytest

from apps.backend.acs.connection_string import AcsConnectionString


def test_parses_http_endpoint_and_key() -> None:
    parsed = AcsConnectionString.parse("endpoint=http://127.0.0.1:8090/;accesskey=c2VjcmV0")
    assert parsed.endpoint == "http://127.0.0.1:8090"
    assert parsed.access_key == "c2VjcmV0"


def test_keys_are_case_insensitive_and_order_free() -> None:
    parsed = AcsConnectionString.parse("AccessKey=c2VjcmV0;Endpoint=https://x.communication.azure.com")
    assert parsed.endpoint == "https://x.communication.azure.com"


@pytest.mark.parametrize(
    "raw, message",
    [
        ("endpoint=https://x/", "accesskey"),
        ("accesskey=c2VjcmV0", "endpoint"),
        ("endpoint=ftp://x/;accesskey=c2VjcmV0", "http"),
        ("endpoint=https://x/;accesskey=not base64!", "base64"),
        ("endpoint", "no '='"),
    ],
)
def test_bad_connection_strings_say_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AcsConnectionString.parse(raw)
