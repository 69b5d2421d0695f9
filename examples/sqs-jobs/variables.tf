variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the worker function and base of the other names (the tasks queue is <name>-source)."
  type        = string
  default     = "jobs"
}

variable "function_zip_path" {
  description = "Path of the worker's zip: `shardsafe package src --handler jobs.worker.lambda_handler --zip build/function.zip`."
  type        = string
  default     = "build/function.zip"
}

variable "timeout" {
  description = "Seconds one invocation may run; the tasks queue's visibility timeout is six times this, so a crashed invocation's tasks come back after it."
  type        = number
  default     = 30
}

variable "batch_size" {
  description = "Tasks per invocation (1..10 without a batching window)."
  type        = number
  default     = 10
}

variable "maximum_concurrency" {
  description = "Most workers at once (2..1000)."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Receives of a task before SQS moves it to the dead-letter queue."
  type        = number
  default     = 5
}

variable "force_destroy" {
  description = "Let terraform destroy delete the buckets with what they hold (a try-out, a test)."
  type        = bool
  default     = false
}

variable "alarm_actions" {
  description = "ARNs (an SNS topic, for example) the workers' alarms notify. Empty: they notify nobody, and the plan warns so."
  type        = list(string)
  default     = []
  nullable    = false
}
