# Event Grid -> POST /api/v1/calls/events for Microsoft.Communication.IncomingCall, authenticated the way the
# service checks (EVENT_GRID_AUTH): the secret in the URL's ?code=, and optionally an Entra ID bearer token.

variable "resource_group_name" { type = string }
variable "system_topic_name" { type = string }
variable "webhook_url" {
  type      = string
  sensitive = true
}
variable "entra_tenant_id" { type = string }
variable "entra_app_id_or_uri" { type = string }

resource "azurerm_eventgrid_system_topic_event_subscription" "incoming_call" {
  name                  = "incoming-call"
  system_topic          = var.system_topic_name
  resource_group_name   = var.resource_group_name
  event_delivery_schema = "EventGridSchema"
  included_event_types  = ["Microsoft.Communication.IncomingCall"]

  webhook_endpoint {
    url                               = var.webhook_url
    max_events_per_batch              = 1
    active_directory_tenant_id        = var.entra_tenant_id != "" ? var.entra_tenant_id : null
    active_directory_app_id_or_uri    = var.entra_app_id_or_uri != "" ? var.entra_app_id_or_uri : null
  }

  # A ringing call cannot wait: a few quick retries, then drop (the caller hears the line fail).
  retry_policy {
    max_delivery_attempts = 3
    event_time_to_live    = 1
  }
}
