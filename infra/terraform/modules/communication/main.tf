# Azure Communication Services (the phone line) and its Event Grid system topic (IncomingCall comes from there).

variable "name" { type = string }
variable "resource_group_name" { type = string }
variable "data_location" { type = string }
variable "tags" { type = map(string) }

resource "azurerm_communication_service" "acs" {
  name                = "acs-${var.name}"
  resource_group_name = var.resource_group_name
  data_location       = var.data_location
  tags                = var.tags
}

# The audience of the JWTs ACS puts on callbacks and the media WebSocket (ACS_RESOURCE_ID) is the resource's
# immutable id, which azurerm does not export.
data "azapi_resource" "acs" {
  type                   = "Microsoft.Communication/communicationServices@2023-03-31"
  resource_id            = azurerm_communication_service.acs.id
  response_export_values = ["properties.immutableResourceId"]
}

resource "azurerm_eventgrid_system_topic" "acs" {
  name                = "evgt-${var.name}"
  resource_group_name = var.resource_group_name
  location            = "global"
  source_resource_id  = azurerm_communication_service.acs.id
  topic_type          = "Microsoft.Communication.CommunicationServices"
  tags                = var.tags
}

output "name" { value = azurerm_communication_service.acs.name }
output "system_topic_name" { value = azurerm_eventgrid_system_topic.acs.name }
output "immutable_resource_id" { value = data.azapi_resource.acs.output.properties.immutableResourceId }
output "connection_string" {
  value     = azurerm_communication_service.acs.primary_connection_string
  sensitive = true
}
