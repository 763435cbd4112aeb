"""The compose stack: two backend replicas behind a WebSocket-passing proxy, a real Valkey, the Cosmos-protocol
server, health checks everywhere and the settings wired to those containers."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.infra import tools
from tests.infra.settings_fields import settings_fields

COMPOSE = tools.ROOT / "compose.yaml"
NGINX = tools.ROOT / "deploy/compose/nginx.conf"
BACKENDS = ("backend-1", "backend-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _env(service: dict[str, Any]) -> dict[str, Any]:
    env = service["environment"]
    assert isinstance(env, dict), "environment as a mapping"
    return env


def test_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"proxy", *BACKENDS, "redis", "cosmos"} <= set(services)
    assert services["redis"]["image"].startswith("valkey/valkey:")
    assert "--no-ssl" in services["cosmos"]["build"]["dockerfile_inline"], "the tests' Cosmos-protocol server"


def test_two_backend_replicas_run_the_same_image_and_settings(compose: dict[str, Any]) -> None:
    one, two = (compose["services"][name] for name in BACKENDS)
    assert one["build"]["dockerfile"] == "Dockerfile"
    assert one["image"] == two["image"]
    assert _env(one) == _env(two)
    assert one["volumes"] != two["volumes"], "each replica keeps its own transcript spool"


def test_every_long_running_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name in ("proxy", *BACKENDS, "redis", "cosmos"):
        check = compose["services"][name]["healthcheck"]
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in BACKENDS:
        assert "/api/v1/readiness" in " ".join(compose["services"][name]["healthcheck"]["test"])
        depends = compose["services"][name]["depends_on"]
        assert depends == {
            "redis": {"condition": "service_healthy"},
            "cosmos": {"condition": "service_healthy"},
        }
    assert compose["services"]["proxy"]["depends_on"] == {
        name: {"condition": "service_healthy"} for name in BACKENDS
    }


def test_only_the_proxy_publishes_a_port(compose: dict[str, Any]) -> None:
    published = {
        name: service["ports"] for name, service in compose["services"].items() if "ports" in service
    }
    assert list(published) == ["proxy"]
    assert published["proxy"] == ["127.0.0.1:8080:8080"], "loopback only: put TLS in front to expose it"


def test_settings_are_wired_to_the_redis_and_cosmos_containers(compose: dict[str, Any]) -> None:
    env = _env(compose["services"]["backend-1"])
    redis = urlsplit(env["REDIS_URL"])
    assert (redis.scheme, redis.hostname, redis.port) == ("redis", "redis", 6379)
    cosmos = urlsplit(env["COSMOS_ENDPOINT"])
    assert cosmos.hostname == "cosmos"
    assert f'--port", "{cosmos.port}"' in compose["services"]["cosmos"]["build"]["dockerfile_inline"]
    assert env["COSMOS_KEY"] and env["COSMOS_VERIFY_SSL"] == "false"
    assert env["HOST"] == "0.0.0.0"


def test_every_variable_is_a_setting_of_the_service(compose: dict[str, Any]) -> None:
    known = settings_fields()
    env = _env(compose["services"]["backend-1"])
    assert sorted(set(env) - set(known)) == []


def test_keys_the_replicas_share_are_required_not_defaulted(compose: dict[str, Any]) -> None:
    env = _env(compose["services"]["backend-1"])
    for name in ("MEDIA_TOKEN_SECRET", "REALTIME_SECRET_KEY", "ADMIN_API_KEY"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", env[name]), (
            f"{name} must come from .env, never a default"
        )
    optional = [name for name, value in env.items() if value is None]
    assert "AZURE_SPEECH_KEY" in optional, "optional keys pass through from the shell or .env only when set"


def test_the_simulated_caller_shares_the_proxy_network(compose: dict[str, Any]) -> None:
    caller = compose["services"]["caller"]
    assert caller["profiles"] == ["call"], "not started by `docker compose up`"
    assert caller["network_mode"] == "service:proxy"
    env = _env(compose["services"]["backend-1"])
    assert urlsplit(env["PUBLIC_BASE_URL"]).netloc == "localhost:8080"
    assert env["ACS_CONNECTION_STRING"].startswith("endpoint=http://proxy:8090/;")
    assert f"--event-grid-secret {env['EVENT_GRID_SECRET']}" in " ".join(caller["entrypoint"])
    # The replicas verify the simulator's signatures and JWTs with its well-known key and resource id
    # (read from the source: the infra venv cannot import the app).
    simulator = (tools.ROOT / "apps/loopback_acs.py").read_text()
    key = re.search(r'^SIMULATOR_ACCESS_KEY = "([^"]+)"', simulator, re.M)
    resource = re.search(r'^SIMULATOR_RESOURCE_ID = "([^"]+)"', simulator, re.M)
    assert key is not None and resource is not None
    assert env["ACS_CONNECTION_STRING"].endswith(f";accesskey={key.group(1)}")
    assert env["ACS_RESOURCE_ID"] == resource.group(1)


def test_proxy_balances_both_replicas_and_passes_websockets() -> None:
    conf = "\n".join(line.split("#", 1)[0] for line in NGINX.read_text().splitlines())
    upstream = re.search(r"upstream switchboard \{(.*?)\}", conf, re.S)
    assert upstream is not None
    assert sorted(re.findall(r"server (\S+):8000", upstream.group(1))) == list(BACKENDS)
    assert "ip_hash" not in conf and "sticky" not in conf, "no session affinity: calls are routed via Redis"
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{\s*default upgrade;", conf)
    timeout = re.search(r"proxy_read_timeout (\d+)s;", conf)
    assert timeout is not None and int(timeout.group(1)) >= 3600, "a call's media socket outlives 60 s"


def _engine_reason() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI"
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=30)
    if info.returncode != 0:
        return "no container engine reachable (`docker info` fails)"
    if subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        return "docker compose plugin missing"
    return None


@pytest.mark.e2e
def test_stack_comes_up_and_takes_a_simulated_call_through_the_proxy(tmp_path: Any) -> None:
    reason = _engine_reason()
    if reason is not None:
        pytest.skip(f"bring-up needs a container engine: {reason}")
    env = {
        "MEDIA_TOKEN_SECRET": "m" * 32,
        "REALTIME_SECRET_KEY": "r" * 32,
        "ADMIN_API_KEY": "a" * 32,
        "COMPOSE_PROJECT_NAME": "switchboard-test",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    base = ["docker", "compose", "-f", str(COMPOSE)]
    try:
        subprocess.run([*base, "up", "-d", "--build", "--wait"], env=env, check=True, timeout=1800)
        call = subprocess.run(
            [*base, "run", "--rm", "caller", "--say", "I lost my card"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert call.returncode == 0, call.stdout + call.stderr
    finally:
        subprocess.run([*base, "down", "-v"], env=env, timeout=300)
