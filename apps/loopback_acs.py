"""The loopback ACS contract: well-known values the backend's embedded defaults and the ACS simulator share.

With no ACS settings the backend talks to a simulator listening here, so `make run` + `make call`
work together with no configuration. None of these are secrets: they only ever sign loopback traffic.
"""

SIMULATOR_HOST = "127.0.0.1"
SIMULATOR_PORT = 8090
# base64 of b"switchboard-local-acs-simulator-key". ACS access keys are base64;
# the HMAC key is the decoded bytes.
SIMULATOR_ACCESS_KEY = "c3dpdGNoYm9hcmQtbG9jYWwtYWNzLXNpbXVsYXRvci1rZXk="
# Audience of the callback JWTs: real ACS uses the resource's immutable id.
SIMULATOR_RESOURCE_ID = "00000000-5eed-4c11-8000-000000000acs"
SIMULATOR_ISSUER = "https://acscallautomation.communication.azure.com"
JWKS_PATH = "/calling/.well-known/jwks"
# Event Grid carries its shared secret in the subscription URL (`...?code=<secret>`); with no EVENT_GRID_SECRET
# the backend on embedded defaults expects this one, and the simulator posts it.
EVENT_GRID_SECRET_PARAM = "code"
SIMULATOR_EVENT_GRID_SECRET = "switchboard-local-event-grid-secret"
OPENID_CONFIG_PATH = "/calling/.well-known/acsopenidconfiguration"


def simulator_endpoint(host: str = SIMULATOR_HOST, port: int = SIMULATOR_PORT) -> str:
    return f"http://{host}:{port}/"


def simulator_connection_string(host: str = SIMULATOR_HOST, port: int = SIMULATOR_PORT) -> str:
    return f"endpoint={simulator_endpoint(host, port)};accesskey={SIMULATOR_ACCESS_KEY}"
