# An Azure AI Services account serving Azure OpenAI (the chat deployment the cascade's agents use) and VoiceLive
# (realtime speech-to-speech with the realtime deployment) behind one key.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "chat_model" { type = object({ name = string, version = string, capacity_k_tpm = number }) }
variable "realtime_model" { type = object({ name = string, version = string, capacity_k_tpm = number }) }
variable "private_endpoint_subnet_id" {
  type    = string
  default = null
}
variable "private_dns_zone_ids" {
  type    = map(string)
  default = {}
}
variable "tags" { type = map(string) }

locals {
  private = var.private_endpoint_subnet_id != null
}

resource "azurerm_cognitive_account" "ai" {
  #checkov:skip=CKV_AZURE_236:the service's OpenAI and VoiceLive clients authenticate with the api-key header, held in Key Vault and read by managed identity
  #checkov:skip=CKV2_AZURE_22:Microsoft-managed encryption keys; customer-managed keys need a key lifecycle this deployment does not own
  #checkov:skip=CKV_AZURE_134:public network access is on unless private_networking=true (then a private endpoint serves the app)
  #checkov:skip=CKV_AZURE_247:outbound access stays open: VoiceLive and model calls need no data-exfiltration allow-list here
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  kind                          = "AIServices"
  sku_name                      = "S0"
  custom_subdomain_name         = var.name
  local_auth_enabled            = true
  public_network_access_enabled = !local.private
  identity {
    type = "SystemAssigned"
  }
  tags = var.tags
}

resource "azurerm_cognitive_deployment" "chat" {
  name                 = var.chat_model.name
  cognitive_account_id = azurerm_cognitive_account.ai.id
  model {
    format  = "OpenAI"
    name    = var.chat_model.name
    version = var.chat_model.version
  }
  sku {
    name     = "GlobalStandard"
    capacity = var.chat_model.capacity_k_tpm
  }
}

resource "azurerm_cognitive_deployment" "realtime" {
  name                 = var.realtime_model.name
  cognitive_account_id = azurerm_cognitive_account.ai.id
  model {
    format  = "OpenAI"
    name    = var.realtime_model.name
    version = var.realtime_model.version
  }
  sku {
    name     = "GlobalStandard"
    capacity = var.realtime_model.capacity_k_tpm
  }
  depends_on = [azurerm_cognitive_deployment.chat] # one deployment at a time per account
}

resource "azurerm_private_endpoint" "ai" {
  count               = local.private ? 1 : 0
  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  private_service_connection {
    name                           = "ai"
    private_connection_resource_id = azurerm_cognitive_account.ai.id
    subresource_names              = ["account"]
    is_manual_connection           = false
  }
  private_dns_zone_group {
    name = "ai"
    private_dns_zone_ids = [
      var.private_dns_zone_ids["cognitive"], var.private_dns_zone_ids["openai"], var.private_dns_zone_ids["ai_services"],
    ]
  }
  tags = var.tags
}

output "openai_endpoint" { value = "https://${var.name}.openai.azure.com" }
output "voicelive_endpoint" { value = "https://${var.name}.services.ai.azure.com" }
output "chat_deployment" { value = azurerm_cognitive_deployment.chat.name }
output "realtime_deployment" { value = azurerm_cognitive_deployment.realtime.name }
output "primary_key" {
  value     = azurerm_cognitive_account.ai.primary_access_key
  sensitive = true
}
