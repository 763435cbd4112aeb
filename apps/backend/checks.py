"""Configuration checks, each problem one line naming the setting: what `switchboard serve` runs before loading
any model (settings, registry, Redis) and what `switchboard check` reports in full (plus the reachability of
every configured remote service, with bounded timeouts).

Nothing here starts the service or loads a model; nothing prints a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis.asyncio as aioredis
from pydantic import ValidationError
from pydantic_settings import SettingsError

from apps.backend.acs.jwt_auth import OpenIdConfiguration
from apps.backend.settings import Settings
from registries.loader import RegistryError, RegistrySnapshot, load_registry

PROBE_TIMEOUT_S = 3.0
Status = Literal["ok", "embedded", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    status: Status
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<8} {self.subject}: {self.detail}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    settings: Settings | None = None

    def add(self, status: Status, subject: str, detail: str) -> None:
        self.findings.append(Finding(status, subject, detail))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "error"]


def validation_lines(exc: ValidationError) -> list[str]:
    """One `ENV_VAR: message` line per pydantic error (cross-field rules name their variables themselves)."""
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        where = ".".join([loc[0].upper(), *loc[1:]]) if loc else ""
        lines.append(f"{where}: {message}" if where else message)
    return lines


def check_settings(report: Report, overrides: dict[str, Any]) -> None:
    try:
        report.settings = Settings(**overrides)
    except ValidationError as exc:
        for line in validation_lines(exc):
            report.add("error", "settings", line)
        return
    except SettingsError as exc:  # e.g. SCENARIO_NUMBERS that is not JSON
        named = re.search(r'field "(\w+)"', str(exc))
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        where = f"{named.group(1).upper()}: cannot parse the value" if named else str(exc)
        report.add("error", "settings", f"{where}{cause}")
        return
    report.add("ok", "settings", "valid")
    if report.settings.acs_jwt_validation == "off":
        report.add(
            "warning", "acs", "ACS_JWT_VALIDATION=off: callbacks and media upgrades are NOT authenticated"
        )


def check_registry(report: Report, settings: Settings) -> RegistrySnapshot | None:
    extra = settings.agents_dir
    if extra is not None and not extra.is_dir():
        report.add("error", "settings", f"AGENTS_DIR: {extra} is not a directory")
        return None
    try:
        snapshot = load_registry([extra] if extra else None)
    except RegistryError as exc:
        for issue in exc.issues:
            report.add("error", "registry", str(issue))
        return None
    except Exception as exc:  # a tool module that fails to import, say: still one line, not a traceback
        report.add("error", "registry", f"cannot load: {exc.__class__.__name__}: {exc}")
        return None
    report.add(
        "ok",
        "registry",
        f"{len(snapshot.agents)} agents, {len(snapshot.scenarios)} scenarios, {len(snapshot.tools)} tools",
    )
    known = ", ".join(sorted(snapshot.scenarios))
    if settings.default_scenario not in snapshot.scenarios:
        report.add(
            "error",
            "settings",
            f"DEFAULT_SCENARIO: {settings.default_scenario!r} is not a scenario ({known})",
        )
    for number, scenario in settings.scenario_numbers.items():
        if scenario not in snapshot.scenarios:
            report.add(
                "error", "settings", f"SCENARIO_NUMBERS: {number} -> {scenario!r} is not a scenario ({known})"
            )
    return snapshot


def _public(url: str) -> str:
    """`url` without credentials, path or query: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a port that is not a number
        netloc = host
    return urlunsplit((parts.scheme, netloc, "", "", "")) if host else "(not a URL)"


async def _redis(report: Report, url: str) -> None:
    try:
        client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=PROBE_TIMEOUT_S,
            socket_timeout=PROBE_TIMEOUT_S,
            retry_on_timeout=False,
        )
    except ValueError as exc:
        report.add("error", "redis", f"REDIS_URL: {exc}")
        return
    try:
        await asyncio.wait_for(client.ping(), PROBE_TIMEOUT_S + 1)
    except (TimeoutError, OSError, aioredis.RedisError) as exc:
        report.add(
            "error", "redis", f"REDIS_URL: cannot reach Redis at {_public(url)}: {exc or type(exc).__name__}"
        )
        return
    finally:
        await client.aclose()
    report.add("ok", "redis", f"reachable at {_public(url)}")


async def check_redis(report: Report, settings: Settings) -> None:
    if settings.redis_url:
        await _redis(report, settings.redis_url)
    else:
        report.add("embedded", "redis", "valkey, started by serve")


async def _http(report: Report, http: httpx.AsyncClient, subject: str, setting: str, url: str) -> None:
    """Any HTTP answer (even 401 or 404) shows the service is there: keys are not checked here."""
    try:
        response = await asyncio.wait_for(http.get(url), PROBE_TIMEOUT_S + 1)
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        report.add(
            "error", subject, f"{setting}: cannot reach {_public(url)}: {type(exc).__name__} {exc}".strip()
        )
        return
    report.add("ok", subject, f"reachable at {_public(url)} (HTTP {response.status_code})")


async def _tracing(report: Report, http: httpx.AsyncClient, url: str, protocol: str) -> None:
    """The OTLP endpoint in the transport the service will use: an HTTP answer for OTLP/HTTP; for gRPC (an
    HTTP/2-only port that an HTTP/1.1 request cannot reach) a TCP connection to its host and port."""
    from apps.backend.observability.tracing import OTLP_GRPC, OTLP_PROTOCOLS

    setting = "OTEL_EXPORTER_OTLP_ENDPOINT"
    if protocol not in OTLP_PROTOCOLS:
        report.add(
            "warning",
            "tracing",
            f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not exported here ({', '.join(OTLP_PROTOCOLS)}): "
            "serve leaves tracing off",
        )
        return
    if protocol != OTLP_GRPC:
        await _http(report, http, "tracing", setting, url)
        return
    parts = urlsplit(url if "//" in url else f"//{url}")
    try:
        host, port = parts.hostname, parts.port or 4317
        if not host:
            raise ValueError("no host")
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), PROBE_TIMEOUT_S)
    except (TimeoutError, OSError, ValueError) as exc:
        detail = f"{exc or type(exc).__name__}"
        report.add("error", "tracing", f"{setting}: cannot reach {_public(url)} (OTLP/gRPC): {detail}")
        return
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    report.add("ok", "tracing", f"reachable at {_public(url)} (TCP; exported over OTLP/gRPC)")


async def _acs_keys(report: Report, http: httpx.AsyncClient, settings: Settings) -> None:
    source = settings.acs_jwt_source
    if source is None:
        return
    try:
        jwks_url = source.jwks_url
        if jwks_url is None or source.issuer is None:
            config = await http.get(source.openid_config_url, follow_redirects=True)
            config.raise_for_status()
            jwks_url = jwks_url or OpenIdConfiguration.model_validate_json(config.content).jwks_uri
        keys = await http.get(jwks_url, follow_redirects=True)
        keys.raise_for_status()
        count = len(keys.json().get("keys", []))
    except (httpx.HTTPError, httpx.InvalidURL, ValidationError, ValueError, AttributeError) as exc:
        report.add(
            "error", "acs", f"ACS_OPENID_CONFIG_URL / ACS_JWKS_URL: cannot fetch the ACS signing keys: {exc}"
        )
        return
    report.add("ok", "acs", f"JWT validation on: {count} signing keys")


def _ws_to_http(url: str) -> str:
    return "http" + url[2:] if url.startswith("ws") else url


async def check_remotes(report: Report, settings: Settings) -> None:
    """Every configured remote service, probed concurrently; embedded ones reported as such."""
    probes: list[Awaitable[None]] = [check_redis(report, settings)]
    async with (
        httpx.AsyncClient(timeout=PROBE_TIMEOUT_S) as http,
        httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, verify=settings.cosmos_verify_ssl) as cosmos_http,
    ):
        if settings.uses_acs_simulator:
            report.add(
                "embedded", "acs", f"simulator at {settings.acs_endpoint} (started by `switchboard call`)"
            )
        else:
            probes.append(_http(report, http, "acs", "ACS_CONNECTION_STRING", settings.acs_endpoint))
            probes.append(_acs_keys(report, http, settings))
        if settings.cosmos_endpoint:
            probes.append(
                _http(report, cosmos_http, "transcripts", "COSMOS_ENDPOINT", settings.cosmos_endpoint)
            )
        else:
            report.add("embedded", "transcripts", f"SQLite at {settings.transcripts_db}")
        if settings.azure_speech_host:
            host = _ws_to_http(settings.azure_speech_host)
            probes.append(_http(report, http, "speech", "AZURE_SPEECH_HOST", host))
        elif settings.azure_speech_region:
            region = f"https://{settings.azure_speech_region}.stt.speech.microsoft.com"
            probes.append(_http(report, http, "speech", "AZURE_SPEECH_REGION", region))
        else:
            report.add("embedded", "speech", "pocketsphinx STT, espeak-ng TTS")
        remotes = (
            ("llm", "AZURE_OPENAI_ENDPOINT", settings.azure_openai_endpoint),
            ("llm", "OPENAI_BASE_URL", settings.openai_base_url),
            ("voicelive", "AZURE_VOICELIVE_ENDPOINT", settings.azure_voicelive_endpoint),
        )
        for subject, setting, url in remotes:
            if url:
                probes.append(_http(report, http, subject, setting, _ws_to_http(url)))
        if settings.otel_exporter_otlp_endpoint:
            from apps.backend.observability.tracing import otlp_protocol

            protocol = otlp_protocol(os.environ)
            probes.append(_tracing(report, http, settings.otel_exporter_otlp_endpoint, protocol))
        if not settings.azure_openai_endpoint and not settings.openai_base_url:
            report.add("embedded", "llm", "local agent brain")
        if not settings.azure_voicelive_endpoint:
            report.add("embedded", "voicelive", "this service's realtime server")
        await asyncio.gather(*probes)


def preflight(overrides: dict[str, Any]) -> Report:
    """What `serve` checks before loading anything heavy: settings, registry, Redis when external."""
    report = Report()
    check_settings(report, overrides)
    if report.settings is None:
        return report
    check_registry(report, report.settings)
    if report.settings.redis_url and not report.problems:
        asyncio.run(_redis(report, report.settings.redis_url))
    return report


def full_check(overrides: dict[str, Any]) -> Report:
    """`switchboard check`: settings, registry and every configured remote service."""
    report = Report()
    check_settings(report, overrides)
    if report.settings is not None:
        check_registry(report, report.settings)
        asyncio.run(check_remotes(report, report.settings))
    return report
