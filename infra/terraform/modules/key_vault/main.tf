# Key Vault: every secret the app reads, in RBAC mode. The app's managed identity may read secrets (nothing
# else); the deploying principal may write them. The Container App references them by id, never by value.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "tenant_id" { type = string }
variable "reader_principal_id" { type = string }
variable "writer_principal_id" { type = string }
variable "secret_names" { type = list(string) }
variable "secret_values" {
  type      = map(string)
  sensitive = true
}
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

resource "azurerm_key_vault" "main" {
  #checkov:skip=CKV_AZURE_109:the firewall defaults to Allow so Terraform/azd can write secrets from a laptop; private_networking=true sets Deny and a private endpoint
  #checkov:skip=CKV_AZURE_189:public network access stays on without private_networking for the same reason; access is RBAC-only either way
  #checkov:skip=CKV2_AZURE_32:a private endpoint is created when private_networking=true
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  tenant_id                     = var.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 30
  public_network_access_enabled = !local.private
  network_acls {
    bypass         = "AzureServices"
    default_action = local.private ? "Deny" : "Allow"
  }
  tags = var.tags
}

resource "azurerm_role_assignment" "reader" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = var.reader_principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "writer" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = var.writer_principal_id
}

resource "azurerm_key_vault_secret" "secret" {
  #checkov:skip=CKV_AZURE_41:these are service keys and keys the app signs with; an expiry date would stop new replicas from starting on that day. Rotate with `terraform apply -replace`
  for_each     = toset(var.secret_names)
  name         = each.key
  value        = var.secret_values[each.key]
  key_vault_id = azurerm_key_vault.main.id
  content_type = "text/plain"
  depends_on   = [azurerm_role_assignment.writer, azurerm_private_endpoint.vault]
}

resource "azurerm_private_endpoint" "vault" {
  count               = local.private ? 1 : 0
  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  private_service_connection {
    name                           = "vault"
    private_connection_resource_id = azurerm_key_vault.main.id
    subresource_names              = ["vault"]
    is_manual_connection           = false
  }
  private_dns_zone_group {
    name                 = "vault"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
  tags = var.tags
}

output "name" { value = azurerm_key_vault.main.name }
# Versionless ids: the app picks up a rotated secret without a Terraform change.
output "secret_ids" {
  value = { for name, secret in azurerm_key_vault_secret.secret : name => secret.versionless_id }
}
