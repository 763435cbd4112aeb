variable "environment_name" {
  description = "azd environment name: prefixes every resource name and tags the resource group (azd-env-name)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment_name))
    error_message = "2-21 characters: lower-case letters, digits and '-', starting with a letter."
  }
}

variable "location" {
  description = "Azure region of everything but ACS (which is global, with data_location below)."
  type        = string
  default     = "eastus2"
}

variable "principal_id" {
  description = "Object id of the person or pipeline running the deployment (azd sets AZURE_PRINCIPAL_ID): gets write access to the Key Vault secrets and push access to the registry."
  type        = string
  default     = ""
}

variable "app_image" {
  description = "Image the Container App runs (azd sets SERVICE_API_IMAGE_NAME after its first deploy). Empty: a public placeholder until `azd deploy` pushes ours."
  type        = string
  default     = ""
}

variable "event_grid_subscription" {
  description = "\"true\" once the app runs our image: Event Grid validates the webhook when the subscription is created, so `azd up` sets this in its postdeploy hook and provisions again."
  type        = string
  default     = ""
}

variable "acs_data_location" {
  description = "Where ACS stores its data at rest (United States, Europe, UK, ...)."
  type        = string
  default     = "United States"
}

variable "orchestrator" {
  description = "Default orchestrator: cascade (Azure Speech STT/TTS + Azure OpenAI chat) or voicelive (Azure AI VoiceLive realtime)."
  type        = string
  default     = "cascade"
  validation {
    condition     = contains(["cascade", "voicelive"], var.orchestrator)
    error_message = "cascade or voicelive."
  }
}

variable "chat_model" {
  description = "Azure OpenAI chat model (deployed under the same name)."
  type        = object({ name = string, version = string, capacity_k_tpm = number })
  default     = { name = "gpt-4o-mini", version = "2024-07-18", capacity_k_tpm = 50 }
}

variable "realtime_model" {
  description = "Realtime speech-to-speech model for VoiceLive (deployed under the same name)."
  type        = object({ name = string, version = string, capacity_k_tpm = number })
  default     = { name = "gpt-realtime", version = "2025-08-28", capacity_k_tpm = 10 }
}

variable "min_replicas" {
  description = "Replicas always running. 2: a replica can die (or be replaced by an update) while the other answers calls."
  type        = number
  default     = 2
}

variable "max_replicas" {
  description = "Upper bound of the scale-out."
  type        = number
  default     = 10
}

variable "replica_cpu" {
  description = "vCPU per replica (one event loop per replica: more than 1 vCPU mostly idles)."
  type        = number
  default     = 1
}

variable "replica_memory" {
  description = "Memory per replica (Container Apps consumption pairs 1 vCPU with 2Gi)."
  type        = string
  default     = "2Gi"
}

variable "scale_cpu_percent" {
  description = "Average CPU utilization that adds a replica: calls are the CPU load of a replica (see infra/README.md, Scaling)."
  type        = number
  default     = 60
}

variable "scale_calls_per_replica" {
  description = "Live calls and sessions per replica before another is added (the live-calls rule). 100 calls held one core with fake providers (make bench); real providers and headroom make 40 a safe start."
  type        = number
  default     = 40
}

variable "redis_sku" {
  description = "Azure Managed Redis SKU (Balanced_B0 is the smallest; B1+ for more than a few hundred concurrent calls). Only SKUs of 25 GB or less offer the NoCluster policy the service needs (modules/redis)."
  type        = string
  default     = "Balanced_B0"
  validation {
    condition     = contains(["Balanced_B0", "Balanced_B1", "Balanced_B3", "Balanced_B5", "Balanced_B10", "Balanced_B20", "ComputeOptimized_X3", "ComputeOptimized_X5", "ComputeOptimized_X10", "ComputeOptimized_X20", "MemoryOptimized_M10", "MemoryOptimized_M20"], var.redis_sku)
    error_message = "A Balanced (B0-B20), ComputeOptimized (X3-X20) or MemoryOptimized (M10, M20) SKU: larger ones cannot use the NoCluster policy."
  }
}

variable "transcript_ttl_days" {
  description = "Cosmos DB default time to live of a transcript, in days."
  type        = number
  default     = 90
}

variable "log_retention_days" {
  description = "Log Analytics / Application Insights retention."
  type        = number
  default     = 30
}

variable "private_networking" {
  description = "Put the app in a VNet and reach Key Vault, Redis, Cosmos, Azure OpenAI and the registry through private endpoints only (public access off); Speech stays public (modules/speech says why). The app's ingress stays public: ACS and Event Grid must reach it."
  type        = bool
  default     = false
}

variable "vnet_address_space" {
  description = "With private_networking: the VNet's address space (a /23 for the apps and a /27 for private endpoints are carved from it)."
  type        = string
  default     = "10.60.0.0/22"
}

variable "event_grid_entra" {
  description = "Optional: authenticate Event Grid deliveries with Entra ID instead of only the URL secret: tenant id and the app registration (its application id or id URI) Event Grid gets tokens for. Both set: EVENT_GRID_AUTH=both."
  type        = object({ tenant_id = string, app_id_or_uri = string })
  default     = { tenant_id = "", app_id_or_uri = "" }
}

variable "transfer_target_number" {
  description = "Optional E.164 number of the human queue (TRANSFER_TARGET_NUMBER). Empty: the agent says it cannot transfer."
  type        = string
  default     = ""
}

variable "business_timezone" {
  description = "Optional IANA time zone of the contact center (BUSINESS_TIMEZONE, e.g. America/New_York): the day tools file claims on and agents turn \"yesterday\" into. Empty: the container's zone (UTC)."
  type        = string
  default     = ""
}

variable "scenario_numbers" {
  description = "Optional, once numbers are bought: dialed number -> scenario as `+E164=scenario` pairs separated by commas (the app gets them as SCENARIO_NUMBERS JSON; no quotes here, so azd can substitute it into main.tfvars.json: `azd env set SCENARIO_NUMBERS +14255550100=banking`, then `azd provision`). Empty: the scenarios' own phone_numbers, else DEFAULT_SCENARIO."
  type        = string
  default     = ""
  validation {
    condition     = can(regex("^(\\+[0-9]{6,15}=[a-z0-9_-]+(,\\+[0-9]{6,15}=[a-z0-9_-]+)*)?$", var.scenario_numbers))
    error_message = "Pairs like +14255550100=banking, separated by commas."
  }
}
