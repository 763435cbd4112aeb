# Switchboard on Azure: Container Apps running the image, Key Vault holding every secret (read by the app's managed
# identity), ACS + Event Grid for the phone line, Speech and Azure OpenAI for the voice, Managed Redis for call
# state, Cosmos DB for transcripts, Log Analytics + Application Insights for logs and traces.
# `azd up` drives it (azure.yaml); `terraform apply -var environment_name=...` works too.

data "azurerm_client_config" "current" {}

resource "random_string" "suffix" {
  length  = 5
  lower   = true
  upper   = false
  numeric = true
  special = false
}

locals {
  name   = "${var.environment_name}-${random_string.suffix.result}"
  flat   = replace(local.name, "-", "")
  tags   = { "azd-env-name" = var.environment_name, "app" = "switchboard" }
  app    = "switchboard"
  entra  = var.event_grid_entra.tenant_id != "" && var.event_grid_entra.app_id_or_uri != ""
  writer = var.principal_id != "" ? var.principal_id : data.azurerm_client_config.current.object_id
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.name}"
  location = var.location
  tags     = local.tags
}

# The app's identity: pulls the image, reads the Key Vault secrets. No keys for either.
resource "azurerm_user_assigned_identity" "app" {
  name                = "id-${local.name}"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  tags                = local.tags
}

module "network" {
  source        = "./modules/network"
  count         = var.private_networking ? 1 : 0
  name          = local.name
  location      = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space = var.vnet_address_space
  tags          = local.tags
}

locals {
  private_endpoint_subnet_id = var.private_networking ? module.network[0].private_endpoint_subnet_id : null
  private_dns_zone_ids       = var.private_networking ? module.network[0].private_dns_zone_ids : {}
}

module "monitoring" {
  source              = "./modules/monitoring"
  name                = local.name
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  retention_days      = var.log_retention_days
  tags                = local.tags
}

module "registry" {
  source                     = "./modules/registry"
  name                       = "cr${local.flat}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  pull_principal_id          = azurerm_user_assigned_identity.app.principal_id
  push_principal_id          = local.writer
  private_endpoint_subnet_id = local.private_endpoint_subnet_id
  private_dns_zone_id        = lookup(local.private_dns_zone_ids, "registry", null)
  tags                       = local.tags
}

module "communication" {
  source              = "./modules/communication"
  name                = local.name
  resource_group_name = azurerm_resource_group.main.name
  data_location       = var.acs_data_location
  tags                = local.tags
}

# The IncomingCall webhook, created once the app runs our image: Event Grid validates the URL on creation.
module "incoming_call_webhook" {
  source              = "./modules/incoming_call_webhook"
  count               = var.event_grid_subscription == "true" ? 1 : 0
  resource_group_name = azurerm_resource_group.main.name
  system_topic_name   = module.communication.system_topic_name
  webhook_url         = "${module.container_app.url}/api/v1/calls/events?code=${random_password.event_grid_secret.result}"
  entra_tenant_id     = local.entra ? var.event_grid_entra.tenant_id : ""
  entra_app_id_or_uri = local.entra ? var.event_grid_entra.app_id_or_uri : ""
}

# Public endpoint even with private_networking (modules/speech says why).
module "speech" {
  source              = "./modules/speech"
  name                = "spch-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

module "openai" {
  source                     = "./modules/openai"
  name                       = "ai-${local.name}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  chat_model                 = var.chat_model
  realtime_model             = var.realtime_model
  private_endpoint_subnet_id = local.private_endpoint_subnet_id
  private_dns_zone_ids       = local.private_dns_zone_ids
  tags                       = local.tags
}

module "redis" {
  source                     = "./modules/redis"
  name                       = "redis-${local.name}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  sku_name                   = var.redis_sku
  private_endpoint_subnet_id = local.private_endpoint_subnet_id
  private_dns_zone_id        = lookup(local.private_dns_zone_ids, "redis", null)
  tags                       = local.tags
}

module "cosmos" {
  source                     = "./modules/cosmos"
  name                       = "cosmos-${local.name}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  database_name              = "switchboard"
  container_name             = "transcripts"
  default_ttl_seconds        = var.transcript_ttl_days * 86400
  private_endpoint_subnet_id = local.private_endpoint_subnet_id
  private_dns_zone_id        = lookup(local.private_dns_zone_ids, "cosmos", null)
  tags                       = local.tags
}

# Keys the service mints itself. Replicas must share them (a media token signed by one is checked by another).
resource "random_password" "event_grid_secret" {
  length  = 40
  special = false
}

resource "random_password" "media_token_secret" {
  length  = 48
  special = false
}

resource "random_password" "realtime_secret_key" {
  length  = 48
  special = false
}

resource "random_password" "admin_api_key" {
  length  = 40
  special = false
}

locals {
  # Every secret the app reads: Key Vault secret name -> value. Only Key Vault ever holds the values; the
  # Container App references them by id through its managed identity.
  secret_names = [
    "acs-connection-string", "event-grid-secret", "media-token-secret", "realtime-secret-key", "admin-api-key",
    "redis-url", "cosmos-key", "azure-speech-key", "azure-openai-api-key", "azure-voicelive-api-key",
  ]
  secret_values = {
    "acs-connection-string"   = module.communication.connection_string
    "event-grid-secret"       = random_password.event_grid_secret.result
    "media-token-secret"      = random_password.media_token_secret.result
    "realtime-secret-key"     = random_password.realtime_secret_key.result
    "admin-api-key"           = random_password.admin_api_key.result
    "redis-url"               = module.redis.url
    "cosmos-key"              = module.cosmos.primary_key
    "azure-speech-key"        = module.speech.primary_key
    "azure-openai-api-key"    = module.openai.primary_key
    "azure-voicelive-api-key" = module.openai.primary_key
  }
}

module "key_vault" {
  source                     = "./modules/key_vault"
  name                       = "kv-${substr(local.flat, 0, 21)}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  reader_principal_id        = azurerm_user_assigned_identity.app.principal_id
  writer_principal_id        = local.writer
  secret_names               = local.secret_names
  secret_values              = local.secret_values
  private_endpoint_subnet_id = local.private_endpoint_subnet_id
  private_dns_zone_id        = lookup(local.private_dns_zone_ids, "vault", null)
  tags                       = local.tags
}

locals {
  # Every setting the service reads in production (apps/backend/settings.py; env names are the field names
  # upper-cased). tests/infra checks that none is missing and that no secret is a plain value here.
  app_env = merge(
    local.app_env_base,
    local.entra ? local.app_env_entra : {},
    var.transfer_target_number != "" ? { TRANSFER_TARGET_NUMBER = var.transfer_target_number } : {},
    var.business_timezone != "" ? { BUSINESS_TIMEZONE = var.business_timezone } : {},
    var.scenario_numbers != "" ? { SCENARIO_NUMBERS = jsonencode(local.scenario_numbers) } : {},
  )
  # "+14255550100=banking,+14255550101=insurance" -> {"+14255550100": "banking", ...} (variables.tf says why).
  scenario_numbers = {
    for pair in compact(split(",", var.scenario_numbers)) : split("=", pair)[0] => split("=", pair)[1]
  }
  app_env_base = {
    HOST                     = "0.0.0.0"
    PORT                     = "8000"
    LOG_LEVEL                = "INFO"
    LOG_FORMAT               = "json"
    OTEL_SERVICE_NAME        = local.app
    ORCHESTRATOR             = var.orchestrator
    ACS_RESOURCE_ID          = module.communication.immutable_resource_id
    ACS_JWT_VALIDATION       = "on"
    EVENT_GRID_AUTH          = local.entra ? "both" : "secret"
    COSMOS_ENDPOINT          = module.cosmos.endpoint
    COSMOS_DATABASE          = module.cosmos.database_name
    COSMOS_CONTAINER         = module.cosmos.container_name
    COSMOS_VERIFY_SSL        = "true"
    AZURE_SPEECH_REGION      = azurerm_resource_group.main.location
    AZURE_OPENAI_ENDPOINT    = module.openai.openai_endpoint
    AZURE_OPENAI_DEPLOYMENT  = module.openai.chat_deployment
    AZURE_VOICELIVE_ENDPOINT = module.openai.voicelive_endpoint
    AZURE_VOICELIVE_MODEL    = module.openai.realtime_deployment
    TRANSCRIPT_SPOOL_PATH    = "/app/var/transcript-spool.db"
    REDACT_TRANSCRIPTS       = "true"
  }
  # With var.event_grid_entra: Event Grid also presents an Entra ID token (EVENT_GRID_AUTH=both).
  app_env_entra = {
    EVENT_GRID_ENTRA_TENANT_ID     = var.event_grid_entra.tenant_id
    EVENT_GRID_ENTRA_AUDIENCE      = var.event_grid_entra.app_id_or_uri
    EVENT_GRID_ENTRA_CLIENT_APP_ID = "4962773b-9cdb-44cf-a8bf-237846a00ab7" # Event Grid's own application
  }
  # Env var -> Key Vault secret name.
  app_secret_env = {
    ACS_CONNECTION_STRING   = "acs-connection-string"
    EVENT_GRID_SECRET       = "event-grid-secret"
    MEDIA_TOKEN_SECRET      = "media-token-secret"
    REALTIME_SECRET_KEY     = "realtime-secret-key"
    ADMIN_API_KEY           = "admin-api-key"
    REDIS_URL               = "redis-url"
    COSMOS_KEY              = "cosmos-key"
    AZURE_SPEECH_KEY        = "azure-speech-key"
    AZURE_OPENAI_API_KEY    = "azure-openai-api-key"
    AZURE_VOICELIVE_API_KEY = "azure-voicelive-api-key"
  }
}

module "container_app" {
  source                     = "./modules/container_app"
  name                       = local.name
  app_name                   = "ca-${local.app}-${random_string.suffix.result}"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  log_analytics_workspace_id = module.monitoring.log_analytics_workspace_id
  app_insights_connection_string = module.monitoring.app_insights_connection_string
  infrastructure_subnet_id   = var.private_networking ? module.network[0].apps_subnet_id : null
  identity_id                = azurerm_user_assigned_identity.app.id
  registry_server            = module.registry.login_server
  image                      = var.app_image
  env                        = local.app_env
  secret_env                 = local.app_secret_env
  key_vault_secret_ids       = module.key_vault.secret_ids
  min_replicas               = var.min_replicas
  max_replicas               = var.max_replicas
  cpu                        = var.replica_cpu
  memory                     = var.replica_memory
  scale_cpu_percent          = var.scale_cpu_percent
  scale_calls_per_replica    = var.scale_calls_per_replica
  tags                       = local.tags
  depends_on                 = [module.key_vault, module.registry]
}
