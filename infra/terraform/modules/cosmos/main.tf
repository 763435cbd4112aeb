# Cosmos DB for NoSQL (serverless): the transcripts container, partition key /call_id, with a default TTL.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "database_name" { type = string }
variable "container_name" { type = string }
variable "default_ttl_seconds" { type = number }
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

resource "azurerm_cosmosdb_account" "main" {
  #checkov:skip=CKV_AZURE_140:the service authenticates with the account key (COSMOS_KEY), held in Key Vault and read by managed identity
  #checkov:skip=CKV_AZURE_100:Microsoft-managed encryption keys; customer-managed keys need a key lifecycle this deployment does not own
  #checkov:skip=CKV_AZURE_99:public network access is on unless private_networking=true (then a private endpoint serves the app)
  #checkov:skip=CKV_AZURE_101:same as above: without private_networking the account is reached over TLS with a key from Key Vault
  name                               = var.name
  location                           = var.location
  resource_group_name                = var.resource_group_name
  offer_type                         = "Standard"
  kind                               = "GlobalDocumentDB"
  minimal_tls_version                = "Tls12"
  local_authentication_enabled       = true
  access_key_metadata_writes_enabled = false
  public_network_access_enabled      = !local.private
  is_virtual_network_filter_enabled  = local.private
  capabilities {
    name = "EnableServerless"
  }
  consistency_policy {
    consistency_level = "Session"
  }
  geo_location {
    location          = var.location
    failover_priority = 0
  }
  backup {
    type = "Continuous"
    tier = "Continuous7Days"
  }
  tags = var.tags
}

resource "azurerm_cosmosdb_sql_database" "main" {
  name                = var.database_name
  resource_group_name = var.resource_group_name
  account_name        = azurerm_cosmosdb_account.main.name
}

resource "azurerm_cosmosdb_sql_container" "transcripts" {
  name                  = var.container_name
  resource_group_name   = var.resource_group_name
  account_name          = azurerm_cosmosdb_account.main.name
  database_name         = azurerm_cosmosdb_sql_database.main.name
  partition_key_paths   = ["/call_id"]
  partition_key_version = 2
  default_ttl           = var.default_ttl_seconds
}

resource "azurerm_private_endpoint" "cosmos" {
  count               = local.private ? 1 : 0
  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  private_service_connection {
    name                           = "cosmos"
    private_connection_resource_id = azurerm_cosmosdb_account.main.id
    subresource_names              = ["Sql"]
    is_manual_connection           = false
  }
  private_dns_zone_group {
    name                 = "cosmos"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
  tags = var.tags
}

output "endpoint" { value = azurerm_cosmosdb_account.main.endpoint }
output "database_name" { value = azurerm_cosmosdb_sql_database.main.name }
output "container_name" { value = azurerm_cosmosdb_sql_container.transcripts.name }
output "primary_key" {
  value     = azurerm_cosmosdb_account.main.primary_key
  sensitive = true
}
