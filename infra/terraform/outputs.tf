# azd reads these (upper-case names become azd environment values).
output "AZURE_RESOURCE_GROUP" {
  value = azurerm_resource_group.main.name
}

output "AZURE_CONTAINER_REGISTRY_ENDPOINT" {
  description = "azd pushes the image here."
  value       = module.registry.login_server
}

output "SERVICE_API_NAME" {
  value = module.container_app.app_name
}

output "SERVICE_API_URI" {
  description = "The public URL: PUBLIC_BASE_URL of the app, and where the console is."
  value       = module.container_app.url
}

output "EVENT_GRID_WEBHOOK" {
  description = "Where Event Grid delivers IncomingCall (the ?code= secret is in Key Vault as event-grid-secret)."
  value       = "${module.container_app.url}/api/v1/calls/events"
}

output "AZURE_KEY_VAULT_NAME" {
  value = module.key_vault.name
}

output "ACS_RESOURCE_NAME" {
  value = module.communication.name
}

output "NEXT_STEP_PHONE_NUMBER" {
  description = "The one step Terraform cannot do."
  value       = "Buy a phone number for ${module.communication.name} (portal: Communication Services > Phone numbers > Get; or the Phone Numbers SDK: search available numbers, then purchase with the search id), then map it to a scenario with SCENARIO_NUMBERS or a scenario's phone_numbers. See infra/README.md."
}
