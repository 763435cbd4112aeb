# Azure Managed Redis: call records, conversation state, the cross-replica media claims and command channels.
# TLS only. NoCluster policy: the service's plain (non-cluster) client sees one unsharded Redis, so its
# multi-key work (a record and its connection index in one MULTI/EXEC, MGET of many records, the demo tools'
# Lua scripts) never meets CROSSSLOT, which EnterpriseCluster gives such commands when keys sit in different
# slots. NoCluster is offered up to 25 GB; variables.tf keeps redis_sku within that.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "sku_name" { type = string }
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

resource "azurerm_managed_redis" "main" {
  name                  = var.name
  location              = var.location
  resource_group_name   = var.resource_group_name
  sku_name              = var.sku_name
  public_network_access = local.private ? "Disabled" : "Enabled"
  default_database {
    # The service authenticates with the access key (inside REDIS_URL, held in Key Vault).
    access_keys_authentication_enabled = true
    client_protocol                    = "Encrypted"
    clustering_policy                  = "NoCluster"
    # Call state must never be evicted to make room: a full Redis fails writes loudly instead.
    eviction_policy = "NoEviction"
  }
  tags = var.tags
}

resource "azurerm_private_endpoint" "redis" {
  count               = local.private ? 1 : 0
  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  private_service_connection {
    name                           = "redis"
    private_connection_resource_id = azurerm_managed_redis.main.id
    subresource_names              = ["redisEnterprise"]
    is_manual_connection           = false
  }
  private_dns_zone_group {
    name                 = "redis"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
  tags = var.tags
}

output "url" {
  value     = "rediss://:${urlencode(azurerm_managed_redis.main.default_database[0].primary_access_key)}@${azurerm_managed_redis.main.hostname}:${azurerm_managed_redis.main.default_database[0].port}/0"
  sensitive = true
}
