variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Base of every name."
  type        = string
  default     = "shardsafe-windows"
}

variable "function_zip_path" {
  description = "Path of the function's package; `make package` builds it, with templates/window_handler.py."
  type        = string
  default     = "../../build/lambda-python3.13-x86_64.zip"
}

variable "window_seconds" {
  description = "Length of each tumbling window, in seconds (1..900)."
  type        = number
  default     = 30
}

variable "batch_size" {
  description = "Records per invocation: small, so that a window spans several invocations."
  type        = number
  default     = 10
}

variable "alarm_actions" {
  description = "ARNs (an SNS topic, for example) the pipeline's alarms notify. Empty: they notify nobody, and the plan warns so."
  type        = list(string)
  default     = []
  nullable    = false
}
