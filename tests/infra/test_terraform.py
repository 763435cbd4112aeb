"""Terraform for Azure: parses, passes checkov (every skip justified in place), and hands the Container App every
setting the service reads in production, each secret only as a Key Vault reference."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.infra import tools
from tests.infra.settings_fields import settings_fields

TERRAFORM = tools.ROOT / "infra/terraform"
TF_FILES = sorted(TERRAFORM.rglob("*.tf"))

# Settings the Container App leaves to the service's default, each with the reason. A setting added to
# settings.py fails test_every_production_setting_is_provided until it is wired in main.tf or listed here.
DEFAULT_IN_AZURE = {
    "LOCAL_STT_WHISPER_QUEUE": "default",
    "LOCAL_BRAIN_EMBEDDING_CACHE_DIR": "default",
    "VOICELIVE_LOCAL_BARGE_IN": "default (true)",
    "VOICELIVE_TURN_END_MODE": "default (inherit: TURN_END_MODE)",
    "LOCAL_STT_WHISPER_WORKERS": "default",
    "LOCAL_STT_FINAL": "default (whisper; Azure Speech comes first in the chain there)",
    "REGISTRY_LOAD_WORKER": "default (true)",
    "TURN_END_MODEL": "default (auto)",
    "VAD_SAMPLE_RATE": "default (8000)",
    "TURN_END_SPECULATE_MS": "default",
    "TURN_END_MIN_SILENCE_MS": "default",
    "TURN_END_AFTER_NUMBER_MS": "default",
    "TURN_END_MODE": "default (semantic)",
    "BUSINESS_DATE": "default (unpinned: the real date; pinning is for demos and evals)",
    "MEDIA_WEBSOCKET": "default (direct)",
    "WORKER_STATUS_FILE": "only with WORKERS > 1",
    "WORKERS": "default (1): Container Apps scales replicas, each with one worker",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "injected by the environment's managed OpenTelemetry agent (gRPC, with "
    "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the service then exports over OTLP/gRPC; infra/README.md, Telemetry)",
    "ACS_AUDIO_FORMAT": "pcm16k suits the cascade and VoiceLive",
    "ACS_OPENID_CONFIG_URL": "the default is real ACS's public OpenID configuration",
    "ACS_JWKS_URL": "from that OpenID configuration",
    "ACS_JWT_ISSUER": "from that OpenID configuration",
    "EVENT_GRID_SECRET_PREVIOUS": "set by hand only while rotating the subscription URL",
    "EVENT_GRID_ENTRA_JWKS_URL": "derived from EVENT_GRID_ENTRA_TENANT_ID",
    "MEDIA_TOKEN_TTL_SECONDS": "default",
    "SESSIONS_AUTH": "admin (the default): browser sessions need the admin key",
    "SESSIONS_DEMO_PER_MINUTE": "only with SESSIONS_AUTH=demo",
    "SESSION_TOKEN_TTL_SECONDS": "default",
    "SESSION_ICE_SERVERS": "browser WebRTC needs a TURN server of the operator's choosing",
    "SESSION_CONNECT_TIMEOUT_SECONDS": "default",
    "WEBRTC_JITTER_FRAMES": "default",
    "GUIDANCE_ENABLED": "default (on where a scenario declares guidance)",
    "GUIDANCE_ENGINE": "auto (the default): the deployed Azure OpenAI chat model, embedded as the fallback",
    "GUIDANCE_AZURE_OPENAI_DEPLOYMENT": "unset: the chat deployment this stack creates",
    "GUIDANCE_TIMEOUT_SECONDS": "default",
    "TWILIO_AUTH_TOKEN": "Twilio is not provisioned here: an operator adds the token as a Key Vault secret",
    "TWILIO_ACCOUNT_SID": "Twilio is not provisioned here: an operator sets it with the token (for transfers)",
    "TWILIO_API_BASE": "default (Twilio's own REST API)",
    "PRICE_TABLE_FILE": "the shipped price table (an operator's own is a mounted file)",
    "RELAY_UPSTREAM": "embedded (the default); pointing it at the deployed realtime model is an operator's choice",
    "RELAY_UPSTREAM_URL": "only with a non-embedded relay upstream",
    "RELAY_API_KEY": "only with a non-embedded relay upstream (falls back to the Azure OpenAI key)",
    "RELAY_MODEL": "default",
    "RELAY_API_VERSION": "default",
    "RELAY_QUEUE_LIMIT": "default",
    "RELAY_HEARTBEAT_SECONDS": "default",
    "RELAY_CONNECT_TIMEOUT_SECONDS": "default",
    "RELAY_RECONNECT_ATTEMPTS": "default",
    "RELAY_CLIENT_EVENTS_PER_SECOND": "default",
    "ANSWERING_MACHINE_DETECTION": "default (on)",
    "WARM_TRANSFER_ANSWER_TIMEOUT_SECONDS": "default",
    "HOLD_MUSIC_URL": "unset: the service's own hold chime (PUBLIC_BASE_URL/api/v1/audio/hold.wav)",
    "RECORDINGS_DIR": "default (the replica's var volume)",
    "RECORDINGS_BLOB_CONNECTION_STRING": "NOT YET PROVISIONED: no storage account here, so recordings of scenarios that record stay on the replica's EmptyDir and are lost with it (infra/README.md says so)",
    "RECORDINGS_BLOB_CONTAINER": "default",
    "RECORDING_RETENTION_DAYS": "default",
    "CALL_SUMMARY_ENABLED": "default (on)",
    "CALL_SUMMARY_TIMEOUT_SECONDS": "default",
    "GUIDANCE_INTERVAL_SECONDS": "default",
    "WEBRTC_LOOPBACK_CANDIDATES": "false (the default): a container has real interfaces",
    "CALL_RECORD_TTL_SECONDS": "default",
    "REDIS_SOCKET_TIMEOUT_SECONDS": "default",
    "REDIS_MAX_CONNECTIONS": "default",
    "DEFAULT_SCENARIO": "banking (the default) until numbers are mapped",
    "AGENTS_DIR": "the shipped registries",
    "TTS_VOICE": "the embedded TTS is only a fallback behind Azure Speech",
    "IDLE_REPROMPT_SECONDS": "default",
    "IDLE_HANG_UP_SECONDS": "default",
    "TRANSCRIPTS_DB": "the SQLite store is unused with Cosmos",
    "AZURE_SPEECH_HOST": "AZURE_SPEECH_REGION is set instead",
    "AZURE_SPEECH_VOICE": "default neural voice",
    "AZURE_OPENAI_API_VERSION": "default",
    "OPENAI_BASE_URL": "no second LLM provider is deployed",
    "OPENAI_API_KEY": "no second LLM provider is deployed",
    "OPENAI_MODEL": "no second LLM provider is deployed",
    "LLM_FIRST_TOKEN_TIMEOUT_SECONDS": "default",
    "AZURE_VOICELIVE_API_VERSION": "default",
    "AZURE_VOICELIVE_VOICE": "default",
    "REALTIME_API_KEY": "unset keeps the embedded realtime server closed to outside clients",
}
# Set by the container_app module itself (the app's own URL) or only when its variable is given.
SET_BY_MODULE = {"PUBLIC_BASE_URL"}
OPTIONAL_VARIABLES = {"TRANSFER_TARGET_NUMBER", "SCENARIO_NUMBERS", "BUSINESS_TIMEZONE"}
# Expressions that hold key material: none may feed a plain env value.
SECRET_SOURCES = re.compile(
    r"random_password\.|primary_key|access_key|connection_string|module\.redis\.url|local\.secret_values"
)


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _plain(block: dict[str, Any]) -> dict[str, Any]:
    return {_unquote(k): _unquote(v) for k, v in block.items() if not k.startswith("__")}


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        loaded: dict[str, Any] = tools.hcl2().load(handle)
    return loaded


def _locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in _load(TERRAFORM / "main.tf")["locals"]:
        merged.update(block)
    return merged


def _resources(path: Path, kind: str) -> list[dict[str, Any]]:
    found = []
    for block in _load(path).get("resource", []):
        for resource_kind, named in block.items():
            if _unquote(resource_kind) == kind:
                found.extend(named.values())
    return found


def test_every_terraform_file_parses() -> None:
    assert len(TF_FILES) >= 12
    for path in TF_FILES:
        assert _load(path), path


def test_providers_are_pinned() -> None:
    (versions,) = _load(TERRAFORM / "versions.tf")["terraform"]
    providers = versions["required_providers"][0]
    assert _unquote(providers["azurerm"]["source"]) == "hashicorp/azurerm"
    for provider in providers.values():
        if isinstance(provider, dict):
            assert _unquote(provider["version"]).startswith("~>"), provider


def test_every_production_setting_is_provided() -> None:
    local = _locals()
    plain = set(_plain(local["app_env_base"])) | set(_plain(local["app_env_entra"]))
    secret = set(_plain(local["app_secret_env"]))
    provided = plain | secret | SET_BY_MODULE | OPTIONAL_VARIABLES
    fields = settings_fields()
    assert sorted(set(DEFAULT_IN_AZURE) - set(fields)) == [], "stale entries in DEFAULT_IN_AZURE"
    assert sorted(set(provided) - set(fields)) == [], "env names the service does not read"
    assert sorted(set(fields) - provided - set(DEFAULT_IN_AZURE)) == []
    assert sorted(provided & set(DEFAULT_IN_AZURE)) == []
    assert "PUBLIC_BASE_URL" in (TERRAFORM / "modules/container_app/main.tf").read_text()
    main = (TERRAFORM / "main.tf").read_text()
    for name in OPTIONAL_VARIABLES:
        assert re.search(rf"\? \{{ {name} = ", main), f"{name} is set when its variable is given"


def test_no_secret_is_a_plain_value() -> None:
    local = _locals()
    plain = {**_plain(local["app_env_base"]), **_plain(local["app_env_entra"])}
    secret_env = _plain(local["app_secret_env"])
    fields = settings_fields()
    for name, field in fields.items():
        if field.secret:
            assert name not in plain, f"{name} is a secret: it must be a Key Vault reference"
    assert {name for name in secret_env if fields[name].secret} == set(secret_env) - {"REDIS_URL"}
    for name, value in plain.items():
        assert not SECRET_SOURCES.search(str(value)), f"{name} = {value} carries key material"
    vault_names = {_unquote(name) for name in local["secret_names"]}
    assert set(secret_env.values()) == vault_names, "every Key Vault secret is read, every read one exists"


def test_container_app_reads_secrets_from_key_vault_by_identity() -> None:
    (app,) = _resources(TERRAFORM / "modules/container_app/main.tf", "azurerm_container_app")
    secret_blocks = [block['"secret"'] for block in app["dynamic"] if '"secret"' in block]
    (secret,) = secret_blocks
    (content,) = secret["content"]
    assert set(_plain(content)) == {"name", "key_vault_secret_id", "identity"}, "no `value` on any secret"
    (container,) = app["template"][0]["container"]
    env_blocks = [block['"env"'] for block in container.get("dynamic", []) if '"env"' in block]
    contents = [_plain(block["content"][0]) for block in env_blocks]
    assert {"name", "secret_name"} in [set(content) for content in contents]
    assert app["identity"][0]["type"] == '"UserAssigned"'
    assert "key_vault_secret" not in json.dumps(_plain(container))


def test_scales_between_replica_bounds_with_no_session_affinity() -> None:
    (app,) = _resources(TERRAFORM / "modules/container_app/main.tf", "azurerm_container_app")
    template = app["template"][0]
    assert template["min_replicas"] == "${var.min_replicas}"
    assert template["max_replicas"] == "${var.max_replicas}"
    assert template["custom_scale_rule"], "a scale rule"
    ingress = app["ingress"][0]
    assert ingress["allow_insecure_connections"] is False
    assert "sticky_sessions" not in ingress
    variables = {next(iter(block)): block for block in _load(TERRAFORM / "variables.tf")["variable"]}
    assert variables['"min_replicas"']['"min_replicas"']["default"] >= 2


def test_one_scale_rule_reads_the_live_call_count_with_the_admin_key_from_a_secret() -> None:
    """The count the app serves (routes checked below) is what the live-calls rule scales on."""
    (app,) = _resources(TERRAFORM / "modules/container_app/main.tf", "azurerm_container_app")
    rules = {_unquote(rule["name"]): rule for rule in app["template"][0]["custom_scale_rule"]}
    live = rules["live-calls"]
    assert _unquote(live["custom_rule_type"]) == "metrics-api"
    metadata = {key: _unquote(value) for key, value in live["metadata"].items()}
    assert metadata["url"].endswith("/api/v1/live-calls/count")
    assert (metadata["valueLocation"], metadata["authMode"], metadata["keyParamName"]) == (
        "live_media",
        "apiKey",
        "X-API-Key",
    )
    (auth,) = live["authentication"]
    assert _unquote(auth["trigger_parameter"]) == "apiKey"
    assert _unquote(auth["secret_name"]) == '${var.secret_env["ADMIN_API_KEY"]}'
    # The infra venv has no FastAPI: the route's declaration is read (tests/e2e/test_console_api.py calls it).
    routes = (tools.ROOT / "apps/backend/api/v1/live_calls.py").read_text()
    assert '@router.get("/live-calls/count")' in routes


def test_cosmos_container_is_partitioned_by_call_id_with_a_ttl() -> None:
    (container,) = _resources(TERRAFORM / "modules/cosmos/main.tf", "azurerm_cosmosdb_sql_container")
    assert container["partition_key_paths"] == ['"/call_id"']
    assert container["default_ttl"] == "${var.default_ttl_seconds}"


def test_redis_is_tls_only_and_unsharded() -> None:
    (redis,) = _resources(TERRAFORM / "modules/redis/main.tf", "azurerm_managed_redis")
    database = redis["default_database"][0]
    assert _unquote(database["client_protocol"]) == "Encrypted"
    assert "rediss://" in (TERRAFORM / "modules/redis/main.tf").read_text()
    # The service's MULTI/EXEC spans a record and its connection index (apps/backend/storage/call_store.py):
    # keys in different hash slots, which only an unsharded database takes.
    assert _unquote(database["clustering_policy"]) == "NoCluster"
    assert _unquote(database["eviction_policy"]) == "NoEviction"


# Arguments azurerm 5.x removed or renamed (its 5.0 upgrade guide) on resource types this configuration uses:
# checkov and python-hcl2 do not know the provider's schema, so `terraform validate` would be the first to say.
REMOVED_IN_AZURERM_5 = {
    "azurerm_private_dns_zone_virtual_network_link": {"private_dns_zone_name", "resource_group_name"},
    "azurerm_key_vault": {"enable_rbac_authorization", "contact"},
    "azurerm_eventgrid_system_topic": {"source_arm_resource_id", "metric_arm_resource_id"},
    "azurerm_cosmosdb_account": {"local_authentication_disabled", "managed_hsm_key_id"},
    "azurerm_cosmosdb_sql_container": {"partition_key_path"},
    "azurerm_container_registry": {"trust_policy_enabled"},
    "azurerm_log_analytics_workspace": {
        "local_authentication_disabled",
        "internet_ingestion_enabled",
        "internet_query_enabled",
    },
    "azurerm_application_insights": {
        "daily_data_cap_notifications_disabled",
        "disable_ip_masking",
        "local_authentication_disabled",
    },
    "azurerm_subnet": {"service_endpoints"},
}


def test_no_argument_that_azurerm_5_removed() -> None:
    (versions,) = _load(TERRAFORM / "versions.tf")["terraform"]
    assert _unquote(versions["required_providers"][0]["azurerm"]["version"]).startswith("~> 5.")
    used = []
    for path in TF_FILES:
        for kind, removed in REMOVED_IN_AZURERM_5.items():
            for resource in _resources(path, kind):
                used += [f"{path.name}: {kind}.{name}" for name in removed & set(_plain(resource))]
    assert used == []
    # azurerm 5 ships logs to the workspace only when the environment says so explicitly.
    (environment,) = _resources(
        TERRAFORM / "modules/container_app/main.tf", "azurerm_container_app_environment"
    )
    assert _unquote(environment["logs_destination"]) == "log-analytics"


def test_speech_keeps_its_public_endpoint_with_private_networking() -> None:
    """The service reaches Speech by key and region (voice/azure_speech.py); a Speech resource behind a
    private endpoint answers that with 401, so the module makes none."""
    path = TERRAFORM / "modules/speech/main.tf"
    (speech,) = _resources(path, "azurerm_cognitive_account")
    assert speech["public_network_access_enabled"] is True
    assert _resources(path, "azurerm_private_endpoint") == []
    assert "AZURE_SPEECH_REGION" in _plain(_locals()["app_env_base"])


def _checkov(*extra: str) -> dict[str, Any]:
    checkov = tools.executable("checkov")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [checkov, "-d", str(TERRAFORM), "--framework", "terraform", "--skip-download", "-o", "json", *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tools.ROOT,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("variant", ["public", "private_networking"])
def test_checkov_finds_no_failed_check(variant: str) -> None:
    extra = (
        ("--var-file", str(Path(__file__).with_name("private.tfvars.json"))) if variant != "public" else ()
    )
    report = _checkov(*extra)
    summary = report["summary"]
    failed = [f"{check['check_id']} {check['resource']}" for check in report["results"]["failed_checks"]]
    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0


def test_every_checkov_skip_gives_a_reason() -> None:
    skips = [
        (path.relative_to(TERRAFORM), line.strip())
        for path in TF_FILES
        for line in path.read_text().splitlines()
        if "checkov:skip=" in line
    ]
    assert skips
    for path, line in skips:
        assert re.fullmatch(r"#checkov:skip=CKV2?_[A-Z]+_\d+:.{20,}", line), f"{path}: {line}"


def test_incoming_call_subscription_posts_to_the_events_route_with_the_app_secret() -> None:
    """Event Grid delivers IncomingCall to /api/v1/calls/events carrying the same generated secret the app reads
    from Key Vault (EVENT_GRID_SECRET, checked as ?code=), plus an Entra token when `event_grid_entra` is set."""
    modules = {
        _unquote(name): body
        for block in _load(TERRAFORM / "main.tf")["module"]
        for name, body in block.items()
    }
    webhook = modules["incoming_call_webhook"]
    secret = "${random_password.event_grid_secret.result}"
    assert (
        _unquote(webhook["webhook_url"]) == "${module.container_app.url}/api/v1/calls/events?code=" + secret
    )
    local = _locals()
    assert _plain(local["secret_values"])["event-grid-secret"] == secret
    assert _plain(local["app_secret_env"])["EVENT_GRID_SECRET"] == "event-grid-secret"
    # Fail-closed: the app requires the secret (and the Entra token as well when configured), never neither.
    assert local["app_env_base"]["EVENT_GRID_AUTH"] == '${local.entra ? "both" : "secret"}'
    assert _unquote(local["app_env_base"]["ACS_JWT_VALIDATION"]) == "on"
    (subscription,) = _resources(
        TERRAFORM / "modules/incoming_call_webhook/main.tf",
        "azurerm_eventgrid_system_topic_event_subscription",
    )
    assert subscription["included_event_types"] == ['"Microsoft.Communication.IncomingCall"']
    (endpoint,) = subscription["webhook_endpoint"]
    assert endpoint["url"] == "${var.webhook_url}"
    assert "var.entra_tenant_id" in endpoint["active_directory_tenant_id"]
    # The route and the query parameter the app checks (read from source: the infra venv has no FastAPI).
    calls = (tools.ROOT / "apps/backend/api/v1/calls.py").read_text()
    assert (
        'APIRouter(prefix="/calls"' in calls
        and '@router.post("/events", dependencies=[EventGridDep])' in calls
    )
    assert 'EVENT_GRID_SECRET_PARAM = "code"' in (tools.ROOT / "apps/loopback_acs.py").read_text()


def test_app_insights_receives_traces_through_the_environment_agent() -> None:
    (agent,) = _resources(TERRAFORM / "modules/container_app/main.tf", "azapi_update_resource")
    properties = agent["body"]["properties"]
    assert (
        properties["appInsightsConfiguration"]["connectionString"] == "${var.app_insights_connection_string}"
    )
    assert properties["openTelemetryConfiguration"]["tracesConfiguration"]["destinations"] == [
        '"appInsights"'
    ]
    # The agent takes OTLP over gRPC only and injects OTEL_EXPORTER_OTLP_PROTOCOL=grpc: the service reads that
    # protocol and exports with the gRPC exporter, which the image installs (read from source: the infra venv
    # has no OpenTelemetry; tests/e2e/test_metrics_and_traces.py sends a real call's spans to a gRPC receiver).
    tracing = (tools.ROOT / "apps/backend/observability/tracing.py").read_text()
    assert "def otlp_protocol(" in tracing and 'OTLP_GRPC = "grpc"' in tracing
    assert "from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import" in tracing
    assert "protocol = otlp_protocol(environ)" in tracing
    runtime = (tools.ROOT / "apps/backend/runtime.py").read_text()
    assert re.search(r"otlp_tracer,\s*settings\.otel_exporter_otlp_endpoint,[^)]*\bos\.environ\b", runtime)
    pyproject = tomllib.loads((tools.ROOT / "pyproject.toml").read_text())
    assert any(
        dep.startswith("opentelemetry-exporter-otlp-proto-grpc")
        for dep in pyproject["project"]["dependencies"]
    ), "the image installs pyproject's runtime dependencies: the gRPC exporter must be one"
    modules = {
        _unquote(name): body
        for block in _load(TERRAFORM / "main.tf")["module"]
        for name, body in block.items()
    }
    assert modules["container_app"]["app_insights_connection_string"] == (
        "${module.monitoring.app_insights_connection_string}"
    )


def test_azd_builds_the_image_provisions_this_terraform_and_deploys_to_the_app() -> None:
    import yaml

    azure = yaml.safe_load((tools.ROOT / "azure.yaml").read_text())
    assert azure["infra"] == {"provider": "terraform", "path": "infra/terraform"}
    api = azure["services"]["api"]
    assert (api["host"], api["language"], api["docker"]["path"]) == ("containerapp", "docker", "./Dockerfile")
    # azd finds the app by its azd-service-name tag and the registry by this output.
    (app,) = _resources(TERRAFORM / "modules/container_app/main.tf", "azurerm_container_app")
    assert app["tags"] == '${merge(var.tags, {"azd-service-name" = "api"})}'
    outputs = {name for block in _load(TERRAFORM / "outputs.tf")["output"] for name in block}
    assert {"AZURE_CONTAINER_REGISTRY_ENDPOINT", "SERVICE_API_URI", "NEXT_STEP_PHONE_NUMBER"} <= {
        _unquote(name) for name in outputs
    }
    # azd passes its environment through main.tfvars.json: the pushed image, and the second provision that
    # creates the Event Grid subscription once the app runs that image.
    tfvars = json.loads((TERRAFORM / "main.tfvars.json").read_text())
    assert tfvars["app_image"] == "${SERVICE_API_IMAGE_NAME}"
    assert tfvars["event_grid_subscription"] == "${EVENT_GRID_SUBSCRIPTION}"
    hook = azure["hooks"]["postdeploy"]["posix"]["run"]
    assert "azd env set EVENT_GRID_SUBSCRIPTION true" in hook and "azd provision" in hook


def test_ai_services_deploy_a_chat_and_a_realtime_model_that_the_app_is_pointed_at() -> None:
    path = TERRAFORM / "modules/openai/main.tf"
    deployments = {
        name: body
        for block in _load(path)["resource"]
        for kind, named in block.items()
        if _unquote(kind) == "azurerm_cognitive_deployment"
        for name, body in named.items()
    }
    assert set(deployments) == {'"chat"', '"realtime"'}
    assert deployments['"chat"']["model"][0]["name"] == "${var.chat_model.name}"
    assert deployments['"realtime"']["model"][0]["name"] == "${var.realtime_model.name}"
    env = _locals()["app_env_base"]
    assert env["AZURE_OPENAI_DEPLOYMENT"] == "${module.openai.chat_deployment}"
    assert env["AZURE_VOICELIVE_MODEL"] == "${module.openai.realtime_deployment}"
    assert env["AZURE_VOICELIVE_ENDPOINT"] == "${module.openai.voicelive_endpoint}"
    (account,) = _resources(path, "azurerm_cognitive_account")
    assert _unquote(account["kind"]) == "AIServices", "one account serves Azure OpenAI and VoiceLive"
