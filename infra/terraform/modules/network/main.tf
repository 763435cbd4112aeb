# Optional private networking: a VNet with a subnet for the Container Apps environment and one for private
# endpoints, plus the private DNS zones those endpoints register in.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "address_space" { type = string }
variable "tags" { type = map(string) }

locals {
  zones = {
    vault       = "privatelink.vaultcore.azure.net"
    registry    = "privatelink.azurecr.io"
    cosmos      = "privatelink.documents.azure.com"
    redis       = "privatelink.redis.azure.net"
    cognitive   = "privatelink.cognitiveservices.azure.com"
    openai      = "privatelink.openai.azure.com"
    ai_services = "privatelink.services.ai.azure.com"
  }
}

resource "azurerm_virtual_network" "main" {
  name                = "vnet-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  address_space       = [var.address_space]
  tags                = var.tags
}

resource "azurerm_subnet" "apps" {
  #checkov:skip=CKV2_AZURE_31:Container Apps manages the environment subnet's traffic; an NSG here can break the platform's own ports
  name                 = "snet-apps"
  resource_group_name  = var.resource_group_name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [cidrsubnet(var.address_space, 1, 0)]
  delegation {
    name = "container-apps"
    service_delegation {
      name    = "Microsoft.App/environments"
      actions = ["Microsoft.Network/virtualNetworks/subnets/join/action"]
    }
  }
}

resource "azurerm_subnet" "private_endpoints" {
  #checkov:skip=CKV2_AZURE_31:private endpoints ignore NSG rules unless network policies are enabled; traffic is only the app's
  name                              = "snet-private-endpoints"
  resource_group_name               = var.resource_group_name
  virtual_network_name              = azurerm_virtual_network.main.name
  address_prefixes                  = [cidrsubnet(var.address_space, 5, 16)]
  private_endpoint_network_policies = "Enabled"
}

resource "azurerm_private_dns_zone" "zone" {
  for_each            = local.zones
  name                = each.value
  resource_group_name = var.resource_group_name
  tags                = var.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "link" {
  for_each            = local.zones
  name                = "link-${each.key}"
  private_dns_zone_id = azurerm_private_dns_zone.zone[each.key].id
  virtual_network_id  = azurerm_virtual_network.main.id
  tags                = var.tags
}

output "apps_subnet_id" { value = azurerm_subnet.apps.id }
output "private_endpoint_subnet_id" { value = azurerm_subnet.private_endpoints.id }
output "private_dns_zone_ids" { value = { for key, zone in azurerm_private_dns_zone.zone : key => zone.id } }
