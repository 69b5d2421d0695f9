variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the function and base of the other names (the queue is <name>-source)."
  type        = string
  default     = "shardsafe-queue"
}

variable "function_zip_path" {
  description = "Path of the function's package; `make package` builds it."
  type        = string
  default     = "../../build/lambda-python3.13-x86_64.zip"
}

variable "handler" {
  description = "Entry point of the function, module.function."
  type        = string
  default     = "handler.lambda_handler"
}

variable "timeout" {
  description = "Seconds one invocation may run; the queue's visibility timeout is six times this."
  type        = number
  default     = 30
}

variable "batch_size" {
  description = "Messages per invocation (1..10000; above 10 needs a batching window)."
  type        = number
  default     = 10
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds to wait to fill a batch (0..300)."
  type        = number
  default     = 0
}

variable "maximum_concurrency" {
  description = "Most invocations at once (2..1000): the load the function may put on what it writes to."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Receives of a message before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5
}

variable "environment_variables" {
  description = "Extra environment variables of the function (an output bucket, say)."
  type        = map(string)
  default     = {}
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the function: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "force_destroy" {
  description = "Let terraform destroy delete the module's bucket with the claim checks in it (tests, demos)."
  type        = bool
  default     = false
}

variable "role_policy_statements" {
  description = "Extra statements for the function's role, for what your code writes (an output bucket, say); see the module's role_policy_statements."
  type = map(object({
    actions   = list(string)
    resources = list(string)
    # a wildcard (bucket/*: every object of your output bucket) must be acknowledged, as the module asks
    acknowledge_wildcard = optional(bool, false)
  }))
  default = {}
}

variable "alarm_actions" {
  description = "ARNs (an SNS topic, for example) the pipeline's alarms notify. Empty: they notify nobody, and the plan warns so."
  type        = list(string)
  default     = []
  nullable    = false
}
