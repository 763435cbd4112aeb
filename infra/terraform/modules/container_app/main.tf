# The Container Apps environment and the Switchboard app: public HTTPS ingress (ACS and Event Grid must reach
# it; WebSockets pass through), no session affinity (any replica takes any request: a call's media is claimed in
# Redis and commands are routed to the replica holding it), secrets only as Key Vault references read by the
# app's managed identity, and scale-out on live calls (a count the app serves) and on CPU (see infra/README.md, Scaling).

variable "name" { type = string }
variable "app_name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "log_analytics_workspace_id" { type = string }
variable "app_insights_connection_string" {
  type      = string
  sensitive = true
}
variable "infrastructure_subnet_id" {
  type    = string
  default = null
}
variable "identity_id" { type = string }
variable "registry_server" { type = string }
variable "image" {
  description = "Empty: a public placeholder (first provision, before azd has pushed our image)."
  type        = string
}
variable "env" { type = map(string) }
variable "secret_env" {
  description = "Env var -> Key Vault secret name."
  type        = map(string)
}
variable "key_vault_secret_ids" { type = map(string) }
variable "min_replicas" { type = number }
variable "max_replicas" { type = number }
variable "cpu" { type = number }
variable "memory" { type = string }
variable "scale_cpu_percent" { type = number }
variable "scale_calls_per_replica" { type = number }
variable "tags" { type = map(string) }

locals {
  placeholder = var.image == ""
  image       = local.placeholder ? "mcr.microsoft.com/k8se/quickstart:latest" : var.image
  port        = local.placeholder ? 80 : 8000
  url         = "https://${var.app_name}.${azurerm_container_app_environment.main.default_domain}"
  # Container App secret names are lower-case kebab: the Key Vault names are.
  secret_names = toset(values(var.secret_env))
}

resource "azurerm_container_app_environment" "main" {
  name                       = "cae-${var.name}"
  location                   = var.location
  resource_group_name        = var.resource_group_name
  log_analytics_workspace_id = var.log_analytics_workspace_id
  logs_destination           = "log-analytics"
  infrastructure_subnet_id   = var.infrastructure_subnet_id
  workload_profile {
    name                  = "Consumption"
    workload_profile_type = "Consumption"
  }
  tags = var.tags
}

# The environment's managed OpenTelemetry agent forwards OTLP traces to Application Insights (azurerm has no
# arguments for it). It injects OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL=grpc into the app's
# containers and takes gRPC only; the service reads that protocol and exports over OTLP/gRPC to it
# (infra/README.md, Telemetry).
resource "azapi_update_resource" "open_telemetry" {
  type        = "Microsoft.App/managedEnvironments@2024-03-01"
  resource_id = azurerm_container_app_environment.main.id
  body = {
    properties = {
      appInsightsConfiguration   = { connectionString = var.app_insights_connection_string }
      openTelemetryConfiguration = { tracesConfiguration = { destinations = ["appInsights"] } }
    }
  }
}

resource "azurerm_container_app" "main" {
  name                         = var.app_name
  container_app_environment_id = azurerm_container_app_environment.main.id
  resource_group_name          = var.resource_group_name
  revision_mode                = "Single"
  workload_profile_name        = "Consumption"
  tags                         = merge(var.tags, { "azd-service-name" = "api" })

  identity {
    type         = "UserAssigned"
    identity_ids = [var.identity_id]
  }

  registry {
    server   = var.registry_server
    identity = var.identity_id
  }

  # Key Vault references only: the value is fetched by the app's identity, never stored in the app.
  dynamic "secret" {
    for_each = local.secret_names
    content {
      name                = secret.value
      key_vault_secret_id = var.key_vault_secret_ids[secret.value]
      identity            = var.identity_id
    }
  }

  ingress {
    external_enabled           = true
    target_port                = local.port
    transport                  = "auto"
    allow_insecure_connections = false
    traffic_weight {
      latest_revision = true
      percentage      = 100
    }
  }

  template {
    min_replicas                     = var.min_replicas
    max_replicas                     = var.max_replicas
    # A replica told to stop gets this long; the service's own graceful shutdown is 10 s.
    termination_grace_period_seconds = 30
    # Scale in slowly: a removed replica ends the calls it holds.
    cooldown_period_in_seconds = 900

    # Live calls and browser sessions across every replica, read from the app itself (the media claims in Redis:
    # GET /api/v1/live-calls/count answers the same total on any replica), one replica per
    # `scale_calls_per_replica`. The admin key reaches KEDA as a Container App secret reference, never in plain.
    custom_scale_rule {
      name             = "live-calls"
      custom_rule_type = "metrics-api"
      metadata = {
        url           = "${local.url}/api/v1/live-calls/count"
        valueLocation = "live_media"
        targetValue   = tostring(var.scale_calls_per_replica)
        authMode      = "apiKey"
        method        = "header"
        keyParamName  = "X-API-Key"
      }
      authentication {
        secret_name       = var.secret_env["ADMIN_API_KEY"]
        trigger_parameter = "apiKey"
      }
    }

    # CPU as well: real providers make some calls costlier than others, and it scales before the app answers.
    custom_scale_rule {
      name             = "cpu-follows-live-calls"
      custom_rule_type = "cpu"
      metadata = {
        type  = "Utilization"
        value = tostring(var.scale_cpu_percent)
      }
    }

    # Transcript spool (and nothing else) on disk: survives a container restart within the replica.
    volume {
      name         = "var"
      storage_type = "EmptyDir"
    }

    container {
      name   = "switchboard"
      image  = local.image
      cpu    = var.cpu
      memory = var.memory

      volume_mounts {
        name = "var"
        path = "/app/var"
      }

      env {
        name  = "PUBLIC_BASE_URL"
        value = local.url
      }

      dynamic "env" {
        for_each = var.env
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.secret_env
        content {
          name        = env.key
          secret_name = env.value
        }
      }

      dynamic "startup_probe" {
        for_each = local.placeholder ? [] : [1]
        content {
          transport               = "HTTP"
          path                    = "/api/v1/health"
          port                    = local.port
          interval_seconds        = 3
          failure_count_threshold = 20
        }
      }

      dynamic "liveness_probe" {
        for_each = local.placeholder ? [] : [1]
        content {
          transport               = "HTTP"
          path                    = "/api/v1/health"
          port                    = local.port
          interval_seconds        = 10
          failure_count_threshold = 3
        }
      }

      dynamic "readiness_probe" {
        for_each = local.placeholder ? [] : [1]
        content {
          transport               = "HTTP"
          path                    = "/api/v1/readiness"
          port                    = local.port
          interval_seconds        = 5
          failure_count_threshold = 3
        }
      }
    }
  }
}

output "url" { value = local.url }
output "app_name" { value = azurerm_container_app.main.name }
