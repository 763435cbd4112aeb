# Container Registry: azd pushes the image, the app's identity pulls it. No admin user, no passwords.

variable "name" { type = string }
variable "location" { type = string }
variable "resource_group_name" { type = string }
variable "pull_principal_id" { type = string }
variable "push_principal_id" { type = string }
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

resource "azurerm_container_registry" "main" {
  #checkov:skip=CKV_AZURE_139:public network access is the default so azd can push from a laptop; private_networking=true turns it off
  #checkov:skip=CKV_AZURE_165:geo-replication is a Premium multi-region feature; one region serves one contact-center line
  #checkov:skip=CKV_AZURE_233:zone redundancy needs Premium; image pulls only happen at replica start
  #checkov:skip=CKV_AZURE_166:quarantine needs an image-scanning pipeline to release images; azd deploys what it built
  #checkov:skip=CKV_AZURE_164:content trust (Docker Content Trust) is deprecated by Azure in favour of Notation signing
  #checkov:skip=CKV_AZURE_167:untagged-manifest retention needs Premium; azd tags every image it pushes
  #checkov:skip=CKV_AZURE_163:image vulnerability scanning is Defender for Containers, a subscription-wide plan this deployment does not switch on for you
  #checkov:skip=CKV_AZURE_237:dedicated data endpoints need Premium; they only matter behind a firewall (private_networking)
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  sku                           = local.private ? "Premium" : "Basic"
  admin_enabled                 = false
  public_network_access_enabled = !local.private
  tags                          = var.tags
}

resource "azurerm_role_assignment" "pull" {
  scope                = azurerm_container_registry.main.id
  role_definition_name = "AcrPull"
  principal_id         = var.pull_principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "push" {
  scope                = azurerm_container_registry.main.id
  role_definition_name = "AcrPush"
  principal_id         = var.push_principal_id
}

resource "azurerm_private_endpoint" "registry" {
  count               = local.private ? 1 : 0
  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  private_service_connection {
    name                           = "registry"
    private_connection_resource_id = azurerm_container_registry.main.id
    subresource_names              = ["registry"]
    is_manual_connection           = false
  }
  private_dns_zone_group {
    name                 = "registry"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
  tags = var.tags
}

output "login_server" { value = azurerm_container_registry.main.login_server }
