# Azure AI Speech: streaming STT and neural TTS for the cascade orchestrator (AZURE_SPEECH_KEY/REGION).
#
# No private endpoint, even with private_networking: the service builds its Speech SDK config from a key and a
# region (voice/azure_speech.py), and a Speech resource behind a private endpoint refuses that (401); it needs a
# full per-offering URL instead (https://<custom>.cognitiveservices.azure.com/stt/... and /tts/...), which the
# service has no setting for yet. So Speech stays reachable over TLS with its key, which lives in Key Vault.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "tags" { type = map(string) }

resource "azurerm_cognitive_account" "speech" {
  #checkov:skip=CKV_AZURE_236:the service authenticates to Speech with a key (AZURE_SPEECH_KEY), held in Key Vault and read by managed identity
  #checkov:skip=CKV2_AZURE_22:Microsoft-managed encryption keys; customer-managed keys need a key lifecycle this deployment does not own
  #checkov:skip=CKV_AZURE_134:public network access stays on even with private_networking: the service reaches Speech by region and key, which a private endpoint refuses (see the comment at the top)
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  kind                          = "SpeechServices"
  sku_name                      = "S0"
  custom_subdomain_name         = var.name
  local_auth_enabled            = true
  public_network_access_enabled = true
  identity {
    type = "SystemAssigned"
  }
  tags = var.tags
}

output "primary_key" {
  value     = azurerm_cognitive_account.speech.primary_access_key
  sensitive = true
}
