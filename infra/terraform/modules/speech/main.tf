# Azure AI Speech: streaming STT and neural TTS for the cascade orchestrator (AZURE_SPEECH_KEY/REGION).

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "private_endpoint_subnet_id" {
  type    = string
  default = null
}
variable "private_dns_zone_id" {
  type    = string
  default = null
}
variable "tags" { type = map(string) }

locals {
  private = var.private_endpoint_subnet_id != null
}

resource "azurerm_cognitive_account" "speech" {
  #checkov:skip=CKV_AZURE_236:the service authenticates to Speech with a key (AZURE_SPEECH_KEY), held in Key Vault and read by managed identity
  #checkov:skip=CKV2_AZURE_22:Microsoft-managed encryption keys; customer-managed keys need a key lifecycle this deployment does not own
  #checkov:skip=CKV_AZURE_134:public network access is on unless private_networking=true (then a private endpoint serves the app)
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  kind                          = "SpeechServices"
  sku_name                      = "S0"
  custom_subdomain_name         = var.name
  local_auth_enabled            = true
  public_network_access_enabled = !local.private
  identity {
    type = "SystemAssigned"
  }
  tags = var.tags
}

resource "azurerm_private_endpoint" "speech" {
  count               = local.private ? 1 : 0
  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  private_service_connection {
    name                           = "speech"
    private_connection_resource_id = azurerm_cognitive_account.speech.id
    subresource_names              = ["account"]
    is_manual_connection           = false
  }
  private_dns_zone_group {
    name                 = "speech"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
  tags = var.tags
}

output "primary_key" {
  value     = azurerm_cognitive_account.speech.primary_access_key
  sensitive = true
}
