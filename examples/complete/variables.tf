variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
}

variable "name_prefix" {
  description = "Base of every name (function, stream, queue, bucket prefixes, key alias): lowercase letters, digits and '-'."
  type        = string
  default     = "shardsafe-demo"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 40 lowercase letters, digits and '-', starting with a letter or digit (it prefixes an S3 bucket name); got \"${var.name_prefix}\"."
  }
}

variable "lambda_zip_path" {
  description = "Path of the function's package; `make package` builds it."
  type        = string
  default     = "../../build/lambda-python3.13-x86_64.zip"
}

variable "handler" {
  description = "Lambda handler: the template's by default; `make demo` wraps it (demo_handler.lambda_handler) to add a record that crashes the function."
  type        = string
  default     = "handler.lambda_handler"
}

variable "output_bucket_name" {
  description = "Name of the S3 bucket the function writes processed records to (SHARDSAFE_OUTPUT_BUCKET). Null: a unique name starting with name_prefix."
  type        = string
  default     = null
}

variable "shard_count" {
  description = "Shards of the stream."
  type        = number
  default     = 2
}

variable "enhanced_fan_out" {
  description = "Read the stream through an enhanced fan-out consumer."
  type        = bool
  default     = true
}

variable "reserved_concurrency" {
  description = "Concurrency reserved for the function (shards x parallelization factor is what it can use); null for none."
  type        = number
  default     = 10
}

variable "layer_arns" {
  description = "Lambda layer version ARNs for the function."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "failure_destination_kind" {
  description = "Where the mapping sends the batches it gives up on: \"sqs\" (the quarantine queue, the records' coordinates only) or \"s3\" (the module's failure bucket, the records themselves; claim checks go there too)."
  type        = string
  default     = "s3"
  nullable    = false

  validation {
    condition     = contains(["s3", "sqs"], var.failure_destination_kind)
    error_message = "failure_destination_kind must be \"s3\" or \"sqs\"; got \"${var.failure_destination_kind}\"."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before its records are sent to the failure destination."
  type        = number
  default     = 2
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are sent to the failure destination instead of processed."
  type        = number
  default     = 3600
}

variable "filter_patterns" {
  description = "Event filter patterns of the mapping (JSON). Empty: every record reaches the function, which the demo needs (a filter drops records that are not JSON)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "create_alarm_topic" {
  description = "Create an SNS topic, encrypted with the example's key, that the alarms notify. Off: the alarms notify nobody (the plan warns)."
  type        = bool
  default     = true
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard."
  type        = bool
  default     = true
}
