variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Base of every name (function, stream, queue, bucket prefixes): lowercase letters, digits and '-'."
  type        = string
  default     = "ticks"
}

variable "shard_count" {
  description = "Shards of the stream."
  type        = number
  default     = 1
}

variable "function_zip_path" {
  description = "Your function's zip: `shardsafe package src --handler ticks.handler.lambda_handler --requirements requirements.txt --zip build/function.zip` (add --thin with a layer)."
  type        = string
  default     = "build/function.zip"
}

variable "layer_zip_path" {
  description = "shardsafe's layer (`shardsafe package --layer --zip build/shardsafe-layer.zip`): the module publishes it and attaches it to the function. Null: shardsafe is in the function's zip."
  type        = string
  default     = null
}

variable "alarm_actions" {
  description = "ARNs (an SNS topic, for example) the pipeline's alarms notify. Empty: they notify nobody, and the plan warns so."
  type        = list(string)
  default     = []
  nullable    = false
}
