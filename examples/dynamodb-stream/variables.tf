variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the table and the function, and base of the other names."
  type        = string
  default     = "shardsafe-table"
}

variable "function_zip_path" {
  description = "Path of the function's package; `make package` builds it."
  type        = string
  default     = "../../build/lambda-python3.13-x86_64.zip"
}

variable "handler" {
  description = "Entry point of the function, module.function: the DynamoDB template by default."
  type        = string
  default     = "dynamodb_handler.lambda_handler"
}

variable "table_kms_key_arn" {
  description = "Customer managed KMS key of the table (and so of its stream); null: the AWS owned key."
  type        = string
  default     = null
}

variable "batch_size" {
  description = "Stream records per invocation (1..10000)."
  type        = number
  default     = 100
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before it goes to the failure bucket."
  type        = number
  default     = 3
}

variable "environment_variables" {
  description = "Extra environment variables of the function (SHARDSAFE_OUTPUT_BUCKET is the example's output bucket)."
  type        = map(string)
  default     = {}
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the function: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "force_destroy" {
  description = "Let terraform destroy delete the failure bucket with the records in it (tests, demos)."
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
