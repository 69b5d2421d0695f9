variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the function and base of the other names."
  type        = string
  default     = "shardsafe-simple"
}

variable "function_zip_path" {
  description = "Path of the function's package; `make package` builds it."
  type        = string
  default     = "../../build/lambda-python3.13-x86_64.zip"
}

variable "alarm_actions" {
  description = "ARNs (an SNS topic, for example) the pipeline's alarms notify. Empty: they notify nobody, and the plan warns so."
  type        = list(string)
  default     = []
  nullable    = false
}
