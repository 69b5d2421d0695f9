# --- General ---

variable "name" {
  description = "Name of the function, and the base of every other name the module gives (stream, role, failure bucket prefix, quarantine queue, alarms, dashboard)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1 to 64 characters of letters, digits, '-' and '_' (a Lambda function name); got \"${var.name}\"."
  }
}

variable "tags" {
  description = "Tags for every resource the module creates that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

# --- Source ---

variable "event_source" {
  description = <<-EOT
    What the function consumes, chosen by kind; the role may read that source only, and the mapping
    takes the arguments that apply to it (see event_source_mapping).
    - kind: kinesis (the default), dynamodb or sqs.
      - kinesis: the stream the module creates (the Stream variables), or an existing one by arn.
        create_stream = false with stream_arn, the way before event_source, still works.
      - dynamodb: an existing table's stream, by arn (the table's stream_arn attribute). Lambda
        reads it as it reads a Kinesis stream: bisect, retries, record age, on-failure destination.
      - sqs: a standard queue the module creates (<name>-source, with a dead-letter queue that
        receives a message after queue.max_receive_count receives) or an existing one by arn. An
        existing queue must have a visibility timeout of at least six times the function's timeout
        and its own dead-letter queue (a redrive policy): without one, a message whose batch keeps
        failing is received again until its retention ends, then lost.
    - arn: the existing source: a Kinesis stream (arn:<partition>:kinesis:<region>:<account>:stream/<name>),
      a DynamoDB stream (arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>) or an
      SQS queue (arn:<partition>:sqs:<region>:<account>:<name>). Null: the module creates the stream
      or queue (dynamodb needs an arn).
    - create: whether the module creates the source (kinesis, sqs). Default: when arn is null.
      Set it (false with an arn) when arn comes from a resource of the same configuration:
      Terraform must know at plan time whether to create the stream or queue.
    - kms_key_arn: the customer managed KMS key the source is encrypted with (a DynamoDB table's key,
      the key of an existing queue; the key of the created queue). The role may decrypt with this key
      only, and only through the source's service. For kinesis use stream_kms_key_arn.
    - queue: settings of the queue the module creates (kind sqs, no arn):
      visibility_timeout_seconds (default six times the function's timeout, at least 30, at most
      43200; AWS advises at least six times), message_retention_seconds (default 4 days),
      max_receive_count (receives before a message moves to the dead-letter queue, 1..1000,
      default 5) and dead_letter_retention_seconds (default 14 days, the SQS maximum).
  EOT
  type = object({
    kind        = optional(string, "kinesis")
    create      = optional(bool)
    arn         = optional(string)
    kms_key_arn = optional(string)
    queue = optional(object({
      visibility_timeout_seconds    = optional(number)
      message_retention_seconds     = optional(number)
      max_receive_count             = optional(number)
      dead_letter_retention_seconds = optional(number)
    }), {})
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["kinesis", "dynamodb", "sqs"], var.event_source.kind)
    error_message = "event_source.kind must be \"kinesis\", \"dynamodb\" or \"sqs\"; got \"${var.event_source.kind}\"."
  }

  validation {
    condition = var.event_source.arn == null || (
      var.event_source.kind == "kinesis" ? can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[A-Za-z0-9_.-]{1,128}$", var.event_source.arn))
      : var.event_source.kind == "dynamodb" ? can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}/stream/[0-9T:.-]+$", var.event_source.arn))
      : var.event_source.kind == "sqs" ? can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$", var.event_source.arn))
      : true
    )
    error_message = "event_source.arn must be the ARN of the kind it names (kinesis: arn:<partition>:kinesis:<region>:<account>:stream/<name>; dynamodb: arn:<partition>:dynamodb:<region>:<account>:table/<table>/stream/<label>, the table's stream_arn; sqs: arn:<partition>:sqs:<region>:<account>:<queue>); got kind \"${var.event_source.kind}\" and arn \"${coalesce(var.event_source.arn, "null")}\"."
  }

  validation {
    condition = (
      var.event_source.create == null ? true
      : var.event_source.create ? var.event_source.kind != "dynamodb" && var.event_source.arn == null
      : var.event_source.arn != null
    )
    error_message = "event_source.create must be false with an arn (the module consumes that source) and true without one (the module creates it; not for dynamodb, whose table is yours); got create = ${jsonencode(var.event_source.create)} with kind \"${var.event_source.kind}\" and ${var.event_source.arn == null ? "no arn" : "an arn"}."
  }

  validation {
    condition     = var.event_source.kind != "dynamodb" || var.event_source.arn != null
    error_message = "event_source.arn is required with kind \"dynamodb\": pass the table's stream ARN (aws_dynamodb_table.<name>.stream_arn, with stream_enabled = true); the module does not create tables."
  }

  validation {
    condition     = var.event_source.kind == "kinesis" || (!var.create_stream_consumer && var.stream_kms_key_arn == null)
    error_message = "stream_kms_key_arn and create_stream_consumer are for kind \"kinesis\"; with kind \"${var.event_source.kind}\" name the source's key with event_source.kms_key_arn, and leave create_stream_consumer false."
  }

  validation {
    condition     = var.event_source.kind != "kinesis" || var.event_source.kms_key_arn == null
    error_message = "event_source.kms_key_arn is for dynamodb and sqs sources; a Kinesis stream's key is stream_kms_key_arn (it also encrypts the stream the module creates)."
  }

  validation {
    condition     = var.event_source.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.event_source.kms_key_arn))
    error_message = "event_source.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id; got \"${coalesce(var.event_source.kms_key_arn, "null")}\"."
  }

  validation {
    condition     = (var.event_source.kind == "sqs" && coalesce(var.event_source.create, var.event_source.arn == null)) || alltrue([for setting in values(var.event_source.queue) : setting == null])
    error_message = "event_source.queue configures the queue the module creates (kind \"sqs\", no arn); remove it (got ${jsonencode({ for key, value in var.event_source.queue : key => value if value != null })}): an existing queue keeps its own settings."
  }

  # AWS: "set the source queue's visibility timeout to at least six times the timeout that you
  # configure on your function" (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
  validation {
    condition = var.event_source.queue.visibility_timeout_seconds == null || try(
      var.event_source.queue.visibility_timeout_seconds >= 6 * var.timeout && var.event_source.queue.visibility_timeout_seconds <= 43200,
      false
    )
    error_message = "event_source.queue.visibility_timeout_seconds must be at least six times the function's timeout (6 x ${var.timeout} = ${6 * var.timeout} s, as AWS advises, so a batch is not received again while it is retried or throttled) and at most 43200 (12 h, the SQS maximum); got ${coalesce(var.event_source.queue.visibility_timeout_seconds, -1)}. Raise it, or lower timeout."
  }

  validation {
    condition     = var.event_source.queue.message_retention_seconds == null || try(var.event_source.queue.message_retention_seconds >= 60 && var.event_source.queue.message_retention_seconds <= 1209600, false)
    error_message = "event_source.queue.message_retention_seconds must be from 60 to 1209600 (14 days); got ${coalesce(var.event_source.queue.message_retention_seconds, -1)}."
  }

  validation {
    condition     = var.event_source.queue.dead_letter_retention_seconds == null || try(var.event_source.queue.dead_letter_retention_seconds >= 60 && var.event_source.queue.dead_letter_retention_seconds <= 1209600, false)
    error_message = "event_source.queue.dead_letter_retention_seconds must be from 60 to 1209600 (14 days); got ${coalesce(var.event_source.queue.dead_letter_retention_seconds, -1)}."
  }

  validation {
    condition     = var.event_source.queue.max_receive_count == null || try(var.event_source.queue.max_receive_count >= 1 && var.event_source.queue.max_receive_count <= 1000 && floor(var.event_source.queue.max_receive_count) == var.event_source.queue.max_receive_count, false)
    error_message = "event_source.queue.max_receive_count must be a whole number from 1 to 1000 (receives before SQS moves a message to the dead-letter queue); got ${coalesce(var.event_source.queue.max_receive_count, -1)}."
  }
}

# --- Stream ---

variable "create_stream" {
  description = "Create the Kinesis data stream (event_source kind kinesis without an arn). To consume a stream that exists, pass event_source = { kind = \"kinesis\", arn = ... }; create_stream = false with stream_arn, the older way, still works. Ignored for other kinds."
  type        = bool
  default     = true
  nullable    = false
}

variable "stream_arn" {
  description = "Deprecated: pass event_source = { kind = \"kinesis\", arn = ... } instead. ARN of an existing Kinesis data stream to consume, with create_stream = false."
  type        = string
  default     = null

  validation {
    condition     = var.create_stream || var.stream_arn != null || var.event_source.arn != null || var.event_source.kind != "kinesis"
    error_message = "create_stream is false but no stream is named: pass event_source = { kind = \"kinesis\", arn = \"arn:<partition>:kinesis:<region>:<account>:stream/<name>\" } (or stream_arn, the older way)."
  }

  validation {
    condition     = var.stream_arn == null || (var.event_source.kind == "kinesis" && var.event_source.arn == null)
    error_message = "stream_arn is deprecated and cannot be combined with event_source.arn or a kind other than kinesis; name the source with event_source = { kind = \"${var.event_source.kind}\", arn = ... } and remove stream_arn and create_stream."
  }

  validation {
    condition     = var.stream_arn == null || can(regex("^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[A-Za-z0-9_.-]{1,128}$", var.stream_arn))
    error_message = "stream_arn must be a Kinesis data stream ARN (arn:<partition>:kinesis:<region>:<account>:stream/<name>); got \"${coalesce(var.stream_arn, "null")}\"."
  }
}

variable "stream_name" {
  description = "Name of the stream the module creates. Defaults to name."
  type        = string
  default     = null

  validation {
    condition     = var.stream_name == null || can(regex("^[A-Za-z0-9_.-]{1,128}$", var.stream_name))
    error_message = "stream_name must be 1 to 128 characters of letters, digits, '.', '-' and '_'; got \"${coalesce(var.stream_name, "null")}\"."
  }
}

variable "stream_mode" {
  description = "Capacity mode of the created stream: PROVISIONED (with shard_count) or ON_DEMAND."
  type        = string
  default     = "PROVISIONED"
  nullable    = false

  validation {
    condition     = contains(["PROVISIONED", "ON_DEMAND"], var.stream_mode)
    error_message = "stream_mode must be PROVISIONED or ON_DEMAND; got \"${var.stream_mode}\"."
  }
}

variable "shard_count" {
  description = "Number of shards of the created stream in PROVISIONED mode (ignored in ON_DEMAND mode)."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.shard_count >= 1 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number of at least 1; got ${var.shard_count}."
  }
}

variable "retention_period" {
  description = "Hours a record stays in the created stream (24..8760). With an S3 failure destination the records the mapping gives up on are kept whole in the bucket; with SQS or SNS only their coordinates are, and the records can be read back from the stream only until then."
  type        = number
  default     = 24
  nullable    = false

  validation {
    condition     = var.retention_period >= 24 && var.retention_period <= 8760 && floor(var.retention_period) == var.retention_period
    error_message = "retention_period must be a whole number of hours from 24 to 8760; got ${var.retention_period}."
  }
}

variable "stream_encryption_enabled" {
  description = "Encrypt the created stream at rest with KMS. On by default; turning it off leaves records unencrypted at rest."
  type        = bool
  default     = true
  nullable    = false
}

variable "stream_kms_key_arn" {
  description = "ARN of the customer managed KMS key of the stream: the key the created stream is encrypted with (default: the AWS managed key alias/aws/kinesis), or the key an existing stream uses. The function may decrypt with this key only."
  type        = string
  default     = null

  validation {
    condition     = var.stream_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.stream_kms_key_arn))
    error_message = "stream_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id; got \"${coalesce(var.stream_kms_key_arn, "null")}\"."
  }
}

variable "shard_level_metrics" {
  description = "Shard-level CloudWatch metrics to enable on the created stream (extra cost): IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, or ALL."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for metric in var.shard_level_metrics : contains([
      "IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
      "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
      "IteratorAgeMilliseconds", "ALL",
    ], metric)])
    error_message = "shard_level_metrics may contain only IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds and ALL; got ${jsonencode(var.shard_level_metrics)}."
  }
}

variable "create_stream_consumer" {
  description = "Register an enhanced fan-out consumer on the stream and have the mapping read through it (dedicated 2 MB/s per shard read throughput; extra cost)."
  type        = bool
  default     = false
  nullable    = false
}

variable "stream_consumer_name" {
  description = "Name of the enhanced fan-out consumer. Defaults to name."
  type        = string
  default     = null

  validation {
    condition     = var.stream_consumer_name == null || can(regex("^[A-Za-z0-9_.-]{1,128}$", var.stream_consumer_name))
    error_message = "stream_consumer_name must be 1 to 128 characters of letters, digits, '.', '-' and '_'; got \"${coalesce(var.stream_consumer_name, "null")}\"."
  }
}

# --- Function ---

variable "function_zip_path" {
  description = "Path of the deployment package (a zip) of the function. `make package` builds shardsafe's into build/lambda-<runtime>-<architecture>.zip."
  type        = string

  validation {
    condition     = fileexists(var.function_zip_path)
    error_message = "function_zip_path names no file: \"${var.function_zip_path}\". Build the package first (`make package`) or pass the path of an existing zip."
  }
}

variable "handler" {
  description = "Entry point of the function, module.function."
  type        = string
  default     = "handler.lambda_handler"
  nullable    = false
}

variable "runtime" {
  description = "Lambda runtime of the function: python3.12 or python3.13."
  type        = string
  default     = "python3.13"
  nullable    = false

  validation {
    condition     = contains(["python3.12", "python3.13"], var.runtime)
    error_message = "runtime must be python3.12 or python3.13; got \"${var.runtime}\"."
  }
}

variable "architecture" {
  description = "Instruction set of the function: x86_64 or arm64 (the package must be built for it)."
  type        = string
  default     = "x86_64"
  nullable    = false

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64; got \"${var.architecture}\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (128..10240); CPU grows with it."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240; got ${var.memory_size}."
  }
}

variable "timeout" {
  description = "Seconds one invocation (one batch) may run (1..900)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 900; got ${var.timeout}."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function, merged with the ones the module sets (SHARDSAFE_QUARANTINE_QUEUE_URL, SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES, SHARDSAFE_CLAIM_CHECK_BUCKET, SHARDSAFE_CLAIM_CHECK_PREFIX, SHARDSAFE_METRICS_NAMESPACE, SHARDSAFE_REPORT_BATCH_ITEM_FAILURES), which cannot be overridden here."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = length(setintersection(keys(var.environment_variables), ["SHARDSAFE_QUARANTINE_QUEUE_URL", "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", "SHARDSAFE_CLAIM_CHECK_BUCKET", "SHARDSAFE_CLAIM_CHECK_PREFIX", "SHARDSAFE_METRICS_NAMESPACE", "SHARDSAFE_REPORT_BATCH_ITEM_FAILURES"])) == 0
    error_message = "environment_variables must not set SHARDSAFE_QUARANTINE_QUEUE_URL, SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES, SHARDSAFE_CLAIM_CHECK_BUCKET, SHARDSAFE_CLAIM_CHECK_PREFIX, SHARDSAFE_METRICS_NAMESPACE or SHARDSAFE_REPORT_BATCH_ITEM_FAILURES (got ${jsonencode(sort(setintersection(keys(var.environment_variables), ["SHARDSAFE_QUARANTINE_QUEUE_URL", "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", "SHARDSAFE_CLAIM_CHECK_BUCKET", "SHARDSAFE_CLAIM_CHECK_PREFIX", "SHARDSAFE_METRICS_NAMESPACE", "SHARDSAFE_REPORT_BATCH_ITEM_FAILURES"])))}): the module sets them from the quarantine queue, claim_check, metrics_namespace and event_source_mapping.report_batch_item_failures; remove them."
  }
}

variable "layers" {
  description = "ARNs of up to 5 Lambda layer versions for the function."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = length(var.layers) <= 5
    error_message = "layers may list at most 5 layer version ARNs (a Lambda limit); got ${length(var.layers)}."
  }

  validation {
    condition     = alltrue([for layer in var.layers : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", layer))])
    error_message = "layers must be layer version ARNs (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>); got ${jsonencode(var.layers)}."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for the function (0 stops it). Null leaves it unreserved, drawing on the account's pool."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= 0 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions, false)
    error_message = "reserved_concurrent_executions must be null (unreserved) or a whole number of at least 0; got ${coalesce(var.reserved_concurrent_executions, -1)}."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the function: Active (traces sampled requests) or PassThrough."
  type        = string
  default     = "Active"
  nullable    = false

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough; got \"${var.tracing_mode}\"."
  }
}

variable "function_kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the function's environment variables at rest (default: the AWS managed key for Lambda)."
  type        = string
  default     = null

  validation {
    condition     = var.function_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.function_kms_key_arn))
    error_message = "function_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); got \"${coalesce(var.function_kms_key_arn, "null")}\"."
  }
}

variable "log_retention_in_days" {
  description = "Days the function's log group keeps events: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653; got ${var.log_retention_in_days}."
  }
}

variable "log_group_kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the function's log group (its key policy must allow CloudWatch Logs). Default: CloudWatch Logs' own encryption."
  type        = string
  default     = null

  validation {
    condition     = var.log_group_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.log_group_kms_key_arn))
    error_message = "log_group_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); got \"${coalesce(var.log_group_kms_key_arn, "null")}\"."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the handler's metrics (RecordsProcessed, RecordsQuarantined, RecordsRetried, BatchDuration), passed to the function as SHARDSAFE_METRICS_NAMESPACE and used by the quarantine alarm and the dashboard."
  type        = string
  default     = "shardsafe"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1 to 255 characters of letters, digits and . _ / # : - and must not start with \"AWS/\"; got \"${var.metrics_namespace}\"."
  }
}

# --- IAM ---

variable "create_role" {
  description = "Create the function's execution role with a least-privilege policy. Set to false and pass role_arn to use a role you manage (attach the role_policy_json output to it)."
  type        = bool
  default     = true
  nullable    = false
}

variable "role_arn" {
  description = "ARN of an existing execution role for the function. Required when create_role is false, ignored otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.create_role || var.role_arn != null
    error_message = "role_arn is required when create_role is false: pass the ARN of the function's execution role (arn:<partition>:iam::<account>:role/<name>)."
  }

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.role_arn))
    error_message = "role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>); got \"${coalesce(var.role_arn, "null")}\"."
  }
}

variable "role_name" {
  description = "Name of the role the module creates. Defaults to name."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1 to 64 characters of letters, digits and +=,.@_-; got \"${coalesce(var.role_name, "null")}\"."
  }
}

variable "role_permissions_boundary_arn" {
  description = "ARN of a managed policy to set as the permissions boundary of the created role."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary_arn))
    error_message = "role_permissions_boundary_arn must be an IAM managed policy ARN (arn:<partition>:iam::<account>:policy/<name>); got \"${coalesce(var.role_permissions_boundary_arn, "null")}\"."
  }
}

variable "role_policy_statements" {
  description = <<-EOT
    Extra statements for the role's policy, keyed by statement id (letters and digits), for what your
    code does beyond the pipeline (for example s3:PutObject on an output bucket). They are added to
    the module's statements and can neither replace nor widen them: the module's statement ids are
    reserved. An Allow statement with a wildcard action (`*`, `s3:*`, `s3:Get*`) or Resource `*`
    needs acknowledge_wildcard = true, so that such a grant is never made by accident.
  EOT
  type = map(object({
    effect    = optional(string, "Allow")
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
    acknowledge_wildcard = optional(bool, false)
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for sid in keys(var.role_policy_statements) : can(regex("^[A-Za-z0-9]+$", sid))])
    error_message = "role_policy_statements keys are statement ids and must be letters and digits only; got ${jsonencode(keys(var.role_policy_statements))}."
  }

  # The ids of every statement the module can make (main.tf, IAM); tests/iam.tftest.hcl checks that
  # this list and the module's statements agree.
  validation {
    condition = length(setintersection([for sid in keys(var.role_policy_statements) : lower(sid)], [for sid in [
      "KinesisStreamRead", "KinesisConsumerRead", "StreamKeyDecrypt", "DynamoDBStreamRead", "SourceQueueConsume", "SourceKeyDecrypt",
      "QuarantineQueueSend", "QuarantineQueueKeyUse", "LogsWrite", "FailureBucketList", "FailureBucketWrite", "FailureQueueSend",
      "FailureTopicPublish", "FailureBucketKeyUse", "FailureQueueKeyUse", "FailureTopicKeyUse", "FailureDestinationKeyUse",
      "ClaimCheckWrite", "ClaimCheckKeyUse", "XRayWrite",
    ] : lower(sid)])) == 0
    error_message = "role_policy_statements must not use the module's statement ids (KinesisStreamRead, KinesisConsumerRead, StreamKeyDecrypt, DynamoDBStreamRead, SourceQueueConsume, SourceKeyDecrypt, QuarantineQueueSend, QuarantineQueueKeyUse, LogsWrite, FailureBucketList, FailureBucketWrite, FailureQueueSend, FailureTopicPublish, FailureBucketKeyUse, FailureQueueKeyUse, FailureTopicKeyUse, FailureDestinationKeyUse, ClaimCheckWrite, ClaimCheckKeyUse, XRayWrite, in any case); got ${jsonencode(keys(var.role_policy_statements))}. Rename yours: the module's statements cannot be replaced."
  }

  validation {
    condition     = alltrue([for statement in values(var.role_policy_statements) : contains(["Allow", "Deny"], statement.effect)])
    error_message = "role_policy_statements[*].effect must be Allow or Deny."
  }

  validation {
    condition     = alltrue([for statement in values(var.role_policy_statements) : length(statement.actions) > 0 && length(statement.resources) > 0])
    error_message = "role_policy_statements[*] must each list at least one action and one resource."
  }

  validation {
    condition = alltrue([
      for statement in values(var.role_policy_statements) : statement.acknowledge_wildcard || statement.effect == "Deny" || !(
        anytrue([for action in statement.actions : strcontains(action, "*")]) || contains(statement.resources, "*")
      )
    ])
    error_message = "role_policy_statements ${jsonencode([for sid, statement in var.role_policy_statements : sid if !statement.acknowledge_wildcard && statement.effect == "Allow" && (anytrue([for action in statement.actions : strcontains(action, "*")]) || contains(statement.resources, "*"))])} allow a wildcard action or Resource \"*\": name the actions and resources, or set acknowledge_wildcard = true on the statement if the wide grant is meant."
  }

  validation {
    condition = alltrue([
      for statement in values(var.role_policy_statements) :
      length(distinct([for condition in statement.conditions : "${condition.test} ${condition.variable}"])) == length(statement.conditions)
    ])
    error_message = "role_policy_statements[*].conditions must not repeat a test on the same variable; put all the values in one condition."
  }
}

# --- Event source mapping ---

variable "event_source_mapping" {
  description = <<-EOT
    How Lambda reads the source. Defaults are the safe ones: for a stream (kinesis, dynamodb) a
    failing batch is split in two (bisect) and retried 3 times, records older than 6 hours are given
    up on, and every record given up on is sent to the failure destination; for a queue a failing
    message is received again until the dead-letter queue takes it. The handler reports partial
    batch failures for every source.
    - enabled: poll the source.
    - batch_size: records per invocation (1..10000; default 100 for streams, 10 for a queue, where
      more than 10 needs maximum_batching_window_in_seconds of at least 1).
    - maximum_batching_window_in_seconds: wait up to this long to fill a batch (0..300).
    - report_batch_item_failures: the function returns the records that failed (ReportBatchItemFailures).
      The handler follows SHARDSAFE_REPORT_BATCH_ITEM_FAILURES, which the module sets to match
      (true or false); with false it retries a retryable record in process, then quarantines it.
    - filter_patterns: up to 10 event filter patterns (JSON); records that match none are skipped
      (a queue's are deleted). AWS's default quota is 5 filters per mapping, raised to 10 on request.
    - kms_key_arn: a customer managed KMS key that encrypts the filter patterns at rest (default: an
      AWS owned key). Its key policy must let lambda.amazonaws.com decrypt, and whoever applies the
      module must be allowed kms:Decrypt on it; the function's role needs nothing.
    - metrics: the mapping's metric groups, [EventCount] (the default) or [] (none). EventCount
      publishes OnFailureDestinationDeliveredEventCount and DroppedEventCount, which the
      failure-destination and dropped-records alarms of a stream watch; without it they are not created.
    Streams only (kinesis, dynamodb); leave them unset for sqs:
    - starting_position: TRIM_HORIZON (default), LATEST, or for kinesis AT_TIMESTAMP (then
      starting_position_timestamp, RFC 3339).
    - parallelization_factor: concurrent batches per shard (1..10, default 1).
    - bisect_batch_on_function_error: split a failing batch in two and retry each half (default true).
    - maximum_retry_attempts: retries of a failing batch (-1 is forever, 0..10000; default 3).
    - maximum_record_age_in_seconds: give up on records older than this (-1 is forever, 60..604800;
      default 21600).
    - tumbling_window_in_seconds: aggregation window for stateful processing (0 is off, up to 900).
    SQS only:
    - maximum_concurrency: the most invocations the mapping runs at once (2..1000; default: Lambda's
      own scaling, up to 1000 batches at once), so that a burst cannot overload what the function
      writes to. https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
  EOT
  type = object({
    enabled                            = optional(bool, true)
    batch_size                         = optional(number)
    maximum_batching_window_in_seconds = optional(number, 0)
    starting_position                  = optional(string)
    starting_position_timestamp        = optional(string)
    parallelization_factor             = optional(number)
    bisect_batch_on_function_error     = optional(bool)
    maximum_retry_attempts             = optional(number)
    maximum_record_age_in_seconds      = optional(number)
    report_batch_item_failures         = optional(bool, true)
    tumbling_window_in_seconds         = optional(number)
    filter_patterns                    = optional(list(string), [])
    kms_key_arn                        = optional(string)
    metrics                            = optional(list(string), ["EventCount"])
    maximum_concurrency                = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.event_source_mapping.batch_size == null || try(var.event_source_mapping.batch_size >= 1 && var.event_source_mapping.batch_size <= 10000, false)
    error_message = "event_source_mapping.batch_size must be from 1 to 10000; got ${coalesce(var.event_source_mapping.batch_size, -1)}."
  }

  validation {
    condition     = var.event_source_mapping.maximum_batching_window_in_seconds >= 0 && var.event_source_mapping.maximum_batching_window_in_seconds <= 300
    error_message = "event_source_mapping.maximum_batching_window_in_seconds must be from 0 to 300; got ${var.event_source_mapping.maximum_batching_window_in_seconds}."
  }

  # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html: "If you configure a
  # batch size greater than 10, you must also set the batching window to at least 1 second".
  validation {
    condition     = var.event_source.kind != "sqs" || coalesce(var.event_source_mapping.batch_size, 10) <= 10 || var.event_source_mapping.maximum_batching_window_in_seconds >= 1
    error_message = "event_source_mapping.batch_size above 10 (got ${coalesce(var.event_source_mapping.batch_size, 10)}) needs maximum_batching_window_in_seconds of at least 1 for an SQS source (AWS requires it); set the window, or a batch_size of 10 or less."
  }

  validation {
    condition = var.event_source.kind != "sqs" || alltrue([
      var.event_source_mapping.starting_position == null,
      var.event_source_mapping.starting_position_timestamp == null,
      var.event_source_mapping.parallelization_factor == null,
      var.event_source_mapping.bisect_batch_on_function_error == null,
      var.event_source_mapping.maximum_retry_attempts == null,
      var.event_source_mapping.maximum_record_age_in_seconds == null,
      var.event_source_mapping.tumbling_window_in_seconds == null,
    ])
    error_message = "event_source_mapping sets stream-only arguments for an SQS source: ${jsonencode([for key, value in { starting_position = var.event_source_mapping.starting_position, starting_position_timestamp = var.event_source_mapping.starting_position_timestamp, parallelization_factor = var.event_source_mapping.parallelization_factor, bisect_batch_on_function_error = var.event_source_mapping.bisect_batch_on_function_error, maximum_retry_attempts = var.event_source_mapping.maximum_retry_attempts, maximum_record_age_in_seconds = var.event_source_mapping.maximum_record_age_in_seconds, tumbling_window_in_seconds = var.event_source_mapping.tumbling_window_in_seconds } : key if value != null])}. Remove them: a queue's failed messages are received again until event_source.queue.max_receive_count moves them to the dead-letter queue."
  }

  validation {
    condition     = var.event_source_mapping.maximum_concurrency == null || (var.event_source.kind == "sqs" && try(var.event_source_mapping.maximum_concurrency >= 2 && var.event_source_mapping.maximum_concurrency <= 1000 && floor(var.event_source_mapping.maximum_concurrency) == var.event_source_mapping.maximum_concurrency, false))
    error_message = "event_source_mapping.maximum_concurrency is for SQS sources only and must be a whole number from 2 to 1000 (AWS's range); got ${coalesce(var.event_source_mapping.maximum_concurrency, -1)} with kind \"${var.event_source.kind}\". A stream's concurrency is its shards times parallelization_factor."
  }

  validation {
    condition = var.event_source_mapping.starting_position == null || contains(
      var.event_source.kind == "kinesis" ? ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"] : ["TRIM_HORIZON", "LATEST"],
      coalesce(var.event_source_mapping.starting_position, "TRIM_HORIZON")
    )
    error_message = "event_source_mapping.starting_position must be TRIM_HORIZON or LATEST (AT_TIMESTAMP too for kinesis); got \"${coalesce(var.event_source_mapping.starting_position, "null")}\" with kind \"${var.event_source.kind}\"."
  }

  validation {
    condition = (
      var.event_source_mapping.starting_position == "AT_TIMESTAMP"
      ? can(formatdate("YYYY", var.event_source_mapping.starting_position_timestamp))
      : var.event_source_mapping.starting_position_timestamp == null
    )
    error_message = "event_source_mapping.starting_position_timestamp must be an RFC 3339 timestamp (2024-01-31T12:00:00Z) when starting_position is AT_TIMESTAMP, and unset otherwise."
  }

  validation {
    condition     = var.event_source_mapping.parallelization_factor == null || try(var.event_source_mapping.parallelization_factor >= 1 && var.event_source_mapping.parallelization_factor <= 10, false)
    error_message = "event_source_mapping.parallelization_factor must be from 1 to 10; got ${coalesce(var.event_source_mapping.parallelization_factor, -1)}."
  }

  validation {
    condition     = var.event_source_mapping.maximum_retry_attempts == null || try(var.event_source_mapping.maximum_retry_attempts >= -1 && var.event_source_mapping.maximum_retry_attempts <= 10000, false)
    error_message = "event_source_mapping.maximum_retry_attempts must be -1 (retry until the record expires) or from 0 to 10000; got ${coalesce(var.event_source_mapping.maximum_retry_attempts, -2)}."
  }

  validation {
    condition = var.event_source_mapping.maximum_record_age_in_seconds == null || try(
      var.event_source_mapping.maximum_record_age_in_seconds == -1 ||
      (var.event_source_mapping.maximum_record_age_in_seconds >= 60 && var.event_source_mapping.maximum_record_age_in_seconds <= 604800),
      false
    )
    error_message = "event_source_mapping.maximum_record_age_in_seconds must be -1 (no limit) or from 60 to 604800; got ${coalesce(var.event_source_mapping.maximum_record_age_in_seconds, -2)}."
  }

  # The stream the module creates has a known retention; an existing stream's is read in main.tf.
  validation {
    condition = (
      var.event_source.kind != "kinesis" || !var.create_stream || var.event_source.arn != null ||
      coalesce(var.event_source_mapping.maximum_record_age_in_seconds, 21600) == -1 ||
      coalesce(var.event_source_mapping.maximum_record_age_in_seconds, 21600) < var.retention_period * 3600
    )
    error_message = "event_source_mapping.maximum_record_age_in_seconds must be shorter than the stream's retention_period (${var.retention_period} h = ${var.retention_period * 3600} s), so that records the mapping gives up on can still be read from the stream; got ${coalesce(var.event_source_mapping.maximum_record_age_in_seconds, 21600)}."
  }

  validation {
    condition     = alltrue([for metric in var.event_source_mapping.metrics : metric == "EventCount"]) && length(distinct(var.event_source_mapping.metrics)) == length(var.event_source_mapping.metrics)
    error_message = "event_source_mapping.metrics must be [\"EventCount\"] or [] (ErrorCount and KafkaMetrics are for Kafka sources only); got ${jsonencode(var.event_source_mapping.metrics)}."
  }

  validation {
    condition     = var.event_source_mapping.tumbling_window_in_seconds == null || try(var.event_source_mapping.tumbling_window_in_seconds >= 0 && var.event_source_mapping.tumbling_window_in_seconds <= 900, false)
    error_message = "event_source_mapping.tumbling_window_in_seconds must be from 0 (off) to 900; got ${coalesce(var.event_source_mapping.tumbling_window_in_seconds, -1)}."
  }

  # AWS: "By default, you can define up to five different filters for a single event source mapping
  # ... you can request a quota increase for up to 10" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html);
  # AWS provider 5.100 accepts 10.
  validation {
    condition = (
      length(var.event_source_mapping.filter_patterns) <= 10 &&
      alltrue([for pattern in var.event_source_mapping.filter_patterns : can(keys(jsondecode(pattern)))])
    )
    error_message = "event_source_mapping.filter_patterns must be at most 10 JSON objects (event filter patterns such as {\"data\":{\"type\":[\"order\"]}}; AWS allows 5 unless your quota was raised); got ${length(var.event_source_mapping.filter_patterns)}."
  }

  validation {
    condition     = var.event_source_mapping.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.event_source_mapping.kms_key_arn))
    error_message = "event_source_mapping.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); got \"${coalesce(var.event_source_mapping.kms_key_arn, "null")}\"."
  }
}

# --- Failure destination ---

variable "failure_destination" {
  description = <<-EOT
    Where the event source mapping sends the records it gives up on (retries or record age
    exhausted: the function crashed, timed out or kept failing). The role's permissions follow it.
    - kind: s3 (the default), sqs or sns. Only S3 keeps the records themselves: Lambda writes
      the whole invocation, records included, under aws/lambda/<mapping UUID>/<shard id>/. SQS and
      SNS get the batch's coordinates only, readable from the stream until its retention ends.
    - arn: an existing destination: a bucket (arn:<partition>:s3:::<name>), an SQS standard queue
      or an SNS standard topic. Null: with s3 the module creates the failure bucket (encrypted,
      public access blocked, ACLs off, TLS only, objects expire after retention_days); with sqs
      the quarantine queue is the destination too. sns needs an arn: a topic the module made
      would have no subscriber and keep nothing.
    - kms_key_arn: the destination's customer managed KMS key: the key the created bucket is
      encrypted with (SSE-KMS; default SSE-S3), or the key an existing destination uses. The role
      may use this key only. With sqs and no arn, set quarantine_queue_kms_key_arn instead.
    - retention_days: days the created bucket keeps an object (default 30). Only for the bucket the
      module creates.
    - force_destroy: let terraform destroy delete the created bucket with the records in it
      (default false: destroy fails while it holds any). For tests and demos.
    An existing bucket must belong to the function's account: AWS warns that a bucket deleted and
    re-created under the same name by someone else would receive the records, so the role may write
    only to buckets of its own account (s3:ResourceAccount).
  EOT
  type = object({
    kind           = optional(string, "s3")
    arn            = optional(string)
    kms_key_arn    = optional(string)
    retention_days = optional(number)
    force_destroy  = optional(bool, false)
  })
  default  = {}
  nullable = false

  # Lambda sends the records it gives up on to a destination for stream sources only; a queue's
  # failed messages go to its dead-letter queue (event_source.queue.max_receive_count).
  validation {
    condition     = var.event_source.kind != "sqs" || (var.failure_destination.kind == "s3" && var.failure_destination.arn == null)
    error_message = "failure_destination must be left at its default with an SQS source (got kind \"${var.failure_destination.kind}\" and arn \"${coalesce(var.failure_destination.arn, "null")}\"): Lambda has no on-failure destination for queues; a message that keeps failing moves to the source queue's dead-letter queue. The module's bucket then keeps claim checks only."
  }

  validation {
    condition     = contains(["s3", "sqs", "sns"], var.failure_destination.kind)
    error_message = "failure_destination.kind must be \"s3\", \"sqs\" or \"sns\"; got \"${var.failure_destination.kind}\"."
  }

  validation {
    condition = var.failure_destination.arn == null || (
      var.failure_destination.kind == "s3" ? can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.failure_destination.arn))
      : var.failure_destination.kind == "sqs" ? can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.failure_destination.arn))
      : var.failure_destination.kind == "sns" ? can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.failure_destination.arn))
      : true
    )
    error_message = "failure_destination.arn must be the ARN of the kind it names (s3: arn:<partition>:s3:::<bucket>; sqs: arn:<partition>:sqs:<region>:<account>:<queue>; sns: arn:<partition>:sns:<region>:<account>:<topic>; FIFO queues and topics cannot be destinations); got kind \"${var.failure_destination.kind}\" and arn \"${coalesce(var.failure_destination.arn, "null")}\"."
  }

  validation {
    condition     = var.failure_destination.kind != "sns" || var.failure_destination.arn != null
    error_message = "failure_destination.arn is required with kind \"sns\": pass the ARN of a topic with subscribers (arn:<partition>:sns:<region>:<account>:<topic>); a topic the module made would have none, and keep nothing."
  }

  validation {
    condition     = var.failure_destination.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.failure_destination.kms_key_arn))
    error_message = "failure_destination.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id; got \"${coalesce(var.failure_destination.kms_key_arn, "null")}\"."
  }

  validation {
    condition     = !(var.failure_destination.kind == "sqs" && var.failure_destination.arn == null && var.failure_destination.kms_key_arn != null)
    error_message = "failure_destination.kms_key_arn must be null with kind \"sqs\" and no arn: the quarantine queue is then the destination; set its key with quarantine_queue_kms_key_arn."
  }

  validation {
    condition     = var.failure_destination.retention_days == null || try(var.failure_destination.retention_days >= 1 && floor(var.failure_destination.retention_days) == var.failure_destination.retention_days, false)
    error_message = "failure_destination.retention_days must be a whole number of days of at least 1 (null: 30); got ${coalesce(var.failure_destination.retention_days, -1)}."
  }

  validation {
    condition     = var.failure_destination.retention_days == null || (var.failure_destination.kind == "s3" && var.failure_destination.arn == null)
    error_message = "failure_destination.retention_days applies only to the bucket the module creates (kind \"s3\", no arn); remove it: an existing destination keeps records as it is configured to, and the quarantine queue's retention is quarantine_queue_message_retention_seconds."
  }
}

variable "claim_check" {
  description = <<-EOT
    Where the handler writes a record whose quarantine envelope would not fit the quarantine queue
    (quarantine_queue_max_message_size): an object under the prefix, named in the envelope with its
    size and sha256. The module passes the location to the function as SHARDSAFE_CLAIM_CHECK_BUCKET
    (the bucket's name) and SHARDSAFE_CLAIM_CHECK_PREFIX, and lets the role write claim checks
    under the prefix and nowhere else in that bucket.
    - bucket_arn: a bucket for claim checks (arn:<partition>:s3:::<name>, of the function's
      account). Null: the failure bucket when failure_destination.kind is s3; otherwise no claim
      check, and the function gets neither variable.
    - prefix: key prefix of the claim-check objects (default claim-checks/): ends with a slash and
      is not under aws/, where Lambda writes its on-failure objects.
    - kms_key_arn: the customer managed KMS key of bucket_arn's bucket, if it has one (the failure
      bucket's is failure_destination.kms_key_arn). Only with bucket_arn.
  EOT
  type = object({
    bucket_arn  = optional(string)
    prefix      = optional(string, "claim-checks/")
    kms_key_arn = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.claim_check.bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.claim_check.bucket_arn))
    error_message = "claim_check.bucket_arn must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>); got \"${coalesce(var.claim_check.bucket_arn, "null")}\"."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]{0,254}/$", var.claim_check.prefix)) && !strcontains(var.claim_check.prefix, "//")
    error_message = "claim_check.prefix must be an S3 key prefix of letters, digits and !_.*'()-/ that ends with \"/\" (claim-checks/, for example), without a leading or doubled \"/\"; got \"${var.claim_check.prefix}\"."
  }

  validation {
    condition     = !startswith(var.claim_check.prefix, "aws/")
    error_message = "claim_check.prefix must not start with \"aws/\": Lambda writes its on-failure objects under aws/lambda/, and the handler may not write there; got \"${var.claim_check.prefix}\"."
  }

  validation {
    condition     = var.claim_check.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.claim_check.kms_key_arn))
    error_message = "claim_check.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); got \"${coalesce(var.claim_check.kms_key_arn, "null")}\"."
  }

  validation {
    condition     = var.claim_check.kms_key_arn == null || var.claim_check.bucket_arn != null
    error_message = "claim_check.kms_key_arn is the key of claim_check.bucket_arn's bucket and needs it; the failure bucket's key is failure_destination.kms_key_arn."
  }
}

# --- Quarantine queue ---

variable "create_quarantine_queue" {
  description = "Create the SQS quarantine queue, where the handler sends the records it cannot process (named <name>-failures, the name it had as failure queue). Set to false and pass quarantine_queue_arn and quarantine_queue_url to use a queue you have."
  type        = bool
  default     = true
  nullable    = false
}

variable "quarantine_queue_arn" {
  description = "ARN of an existing SQS queue to use as quarantine queue. Required when create_quarantine_queue is false, ignored otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.create_quarantine_queue || var.quarantine_queue_arn != null
    error_message = "quarantine_queue_arn is required when create_quarantine_queue is false: pass the ARN of the queue (arn:<partition>:sqs:<region>:<account>:<name>)."
  }

  validation {
    condition     = var.quarantine_queue_arn == null || can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.quarantine_queue_arn))
    error_message = "quarantine_queue_arn must be an SQS standard queue ARN (arn:<partition>:sqs:<region>:<account>:<name>); got \"${coalesce(var.quarantine_queue_arn, "null")}\"."
  }
}

variable "quarantine_queue_url" {
  description = "URL of the existing quarantine queue (the handler sends quarantined records to it). Required when create_quarantine_queue is false, ignored otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.create_quarantine_queue || var.quarantine_queue_url != null
    error_message = "quarantine_queue_url is required when create_quarantine_queue is false: pass the URL of the queue named by quarantine_queue_arn (https://sqs.<region>.amazonaws.com/<account>/<name>)."
  }

  # The role may send to the ARN's queue and the handler sends to the URL's: they must be one queue,
  # or every quarantined record would be refused. A queue URL ends in /<account>/<name>.
  validation {
    condition = var.quarantine_queue_url == null || var.quarantine_queue_arn == null || try(
      regex("^https?://[^/]+/([0-9]{12})/([A-Za-z0-9_-]{1,80})$", var.quarantine_queue_url) == [split(":", var.quarantine_queue_arn)[4], split(":", var.quarantine_queue_arn)[5]],
      false
    )
    error_message = "quarantine_queue_url and quarantine_queue_arn must name the same queue: the URL must end in /<account>/<name> of the ARN (${try("/${split(":", var.quarantine_queue_arn)[4]}/${split(":", var.quarantine_queue_arn)[5]}", "?")}); got url \"${coalesce(var.quarantine_queue_url, "null")}\" and arn \"${coalesce(var.quarantine_queue_arn, "null")}\"."
  }
}

variable "quarantine_queue_kms_key_arn" {
  description = "ARN of a customer managed KMS key for the quarantine queue: the key the created queue is encrypted with (default: SQS managed encryption, SSE-SQS), or the key an existing queue uses. The function may use this key only."
  type        = string
  default     = null

  validation {
    condition     = var.quarantine_queue_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.quarantine_queue_kms_key_arn))
    error_message = "quarantine_queue_kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id; got \"${coalesce(var.quarantine_queue_kms_key_arn, "null")}\"."
  }
}

variable "quarantine_queue_message_retention_seconds" {
  description = "Seconds the created quarantine queue keeps a message (60..1209600; default 14 days, the SQS maximum)."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = var.quarantine_queue_message_retention_seconds >= 60 && var.quarantine_queue_message_retention_seconds <= 1209600
    error_message = "quarantine_queue_message_retention_seconds must be from 60 to 1209600 (14 days); got ${var.quarantine_queue_message_retention_seconds}."
  }
}

variable "quarantine_queue_max_message_size" {
  description = "Largest message in bytes the quarantine queue takes (1024..1048576): set on the created queue, and passed to the function as SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES so that the handler sends a record whose envelope is larger as a claim check. For an existing queue, set it to that queue's MaximumMessageSize. Default 262144 (256 KiB), the most AWS provider 5.x accepts (its validation stops at 262144); SQS takes up to 1048576 (1 MiB), which AWS provider 6.8.0 and later accept."
  type        = number
  default     = 262144
  nullable    = false

  validation {
    condition     = var.quarantine_queue_max_message_size >= 1024 && var.quarantine_queue_max_message_size <= 1048576 && floor(var.quarantine_queue_max_message_size) == var.quarantine_queue_max_message_size
    error_message = "quarantine_queue_max_message_size must be a whole number of bytes from 1024 to 1048576 (1 MiB, the SQS maximum); got ${var.quarantine_queue_max_message_size}."
  }
}

# --- Alarms and dashboard ---

variable "create_alarms" {
  description = "Create CloudWatch alarms on function errors, throttles, quarantine queue depth and quarantined records; for a stream on iterator age and (with event_source_mapping.metrics EventCount) records sent to the failure destination and records dropped; for a queue on the age of its oldest message and the depth of its dead-letter queue (when the module creates it)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_actions" {
  description = "ARNs (SNS topics, for example) notified when an alarm fires."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for action in var.alarm_actions : startswith(action, "arn:")])
    error_message = "alarm_actions must be ARNs (arn:<partition>:sns:<region>:<account>:<topic>, for example); got ${jsonencode(var.alarm_actions)}."
  }
}

variable "ok_actions" {
  description = "ARNs notified when an alarm returns to OK."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for action in var.ok_actions : startswith(action, "arn:")])
    error_message = "ok_actions must be ARNs (arn:<partition>:sns:<region>:<account>:<topic>, for example); got ${jsonencode(var.ok_actions)}."
  }
}

variable "alarm_period_seconds" {
  description = "Period over which each alarm evaluates its metric: 10, 30, or a multiple of 60 seconds."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = contains([10, 30], var.alarm_period_seconds) || (var.alarm_period_seconds >= 60 && var.alarm_period_seconds % 60 == 0)
    error_message = "alarm_period_seconds must be 10, 30 or a multiple of 60; got ${var.alarm_period_seconds}."
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive periods over threshold before an alarm fires."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && floor(var.alarm_evaluation_periods) == var.alarm_evaluation_periods
    error_message = "alarm_evaluation_periods must be a whole number of at least 1; got ${var.alarm_evaluation_periods}."
  }
}

variable "iterator_age_alarm_threshold_ms" {
  description = "Stream sources (kinesis, dynamodb): alarm when the age of the newest record the function has read (Lambda IteratorAge, Maximum) exceeds this many milliseconds: the function is falling behind."
  type        = number
  default     = 60000
  nullable    = false

  validation {
    condition     = var.iterator_age_alarm_threshold_ms > 0
    error_message = "iterator_age_alarm_threshold_ms must be greater than 0; got ${var.iterator_age_alarm_threshold_ms}."
  }
}

variable "source_queue_age_alarm_threshold_seconds" {
  description = "SQS source: alarm when the oldest message of the source queue (ApproximateAgeOfOldestMessage, Maximum) is older than this many seconds: the function is falling behind, or a message keeps failing."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.source_queue_age_alarm_threshold_seconds > 0
    error_message = "source_queue_age_alarm_threshold_seconds must be greater than 0; got ${var.source_queue_age_alarm_threshold_seconds}."
  }
}

variable "dead_letter_queue_alarm_threshold" {
  description = "SQS source queue the module creates: alarm when its dead-letter queue holds more than this many visible messages (messages whose batch failed max_receive_count times)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.dead_letter_queue_alarm_threshold >= 0
    error_message = "dead_letter_queue_alarm_threshold must be 0 or more; got ${var.dead_letter_queue_alarm_threshold}."
  }
}

variable "errors_alarm_threshold" {
  description = "Alarm when function errors (Sum per period) exceed this count."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.errors_alarm_threshold >= 0
    error_message = "errors_alarm_threshold must be 0 or more; got ${var.errors_alarm_threshold}."
  }
}

variable "throttles_alarm_threshold" {
  description = "Alarm when function throttles (Sum per period) exceed this count."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.throttles_alarm_threshold >= 0
    error_message = "throttles_alarm_threshold must be 0 or more; got ${var.throttles_alarm_threshold}."
  }
}

variable "quarantine_queue_alarm_threshold" {
  description = "Alarm when the quarantine queue holds more than this many visible messages."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.quarantine_queue_alarm_threshold >= 0
    error_message = "quarantine_queue_alarm_threshold must be 0 or more; got ${var.quarantine_queue_alarm_threshold}."
  }
}

variable "failure_destination_alarm_threshold" {
  description = "Alarm when the mapping sends more than this many records per period to the failure destination (OnFailureDestinationDeliveredEventCount, Sum): records it gave up on, to inspect and redrive."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.failure_destination_alarm_threshold >= 0
    error_message = "failure_destination_alarm_threshold must be 0 or more; got ${var.failure_destination_alarm_threshold}."
  }
}

variable "dropped_records_alarm_threshold" {
  description = "Alarm when the mapping drops more than this many records per period (DroppedEventCount, Sum): with a failure destination, records whose delivery to it failed, kept nowhere but the stream."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.dropped_records_alarm_threshold >= 0
    error_message = "dropped_records_alarm_threshold must be 0 or more; got ${var.dropped_records_alarm_threshold}."
  }
}

variable "quarantined_records_alarm_threshold" {
  description = "Alarm when the handler quarantines more than this many records per period (RecordsQuarantined, Sum)."
  type        = number
  default     = 0
  nullable    = false

  validation {
    condition     = var.quarantined_records_alarm_threshold >= 0
    error_message = "quarantined_records_alarm_threshold must be 0 or more; got ${var.quarantined_records_alarm_threshold}."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard with the stream's lag, the function's health, the handler's record counts, the quarantine queue and the records sent to the failure destination or dropped."
  type        = bool
  default     = true
  nullable    = false
}

# --- Layer ---

variable "create_layer" {
  description = "Publish layer_zip_path as a Lambda layer version of shardsafe and attach it to the function, ahead of `layers`; the function's zip then needs only your code (`shardsafe package --thin`)."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !var.create_layer || var.layer_zip_path != null
    error_message = "create_layer = true needs layer_zip_path: build the layer with `make layer` or `shardsafe package --layer` and pass the zip's path."
  }
}

variable "layer_zip_path" {
  description = "Path of the layer zip to publish when create_layer is true: shardsafe and its dependencies under python/, built for the function's runtime and architecture by `make layer` or `shardsafe package --layer`."
  type        = string
  default     = null

  validation {
    condition     = var.layer_zip_path == null || try(fileexists(var.layer_zip_path), false)
    error_message = "layer_zip_path names no file: \"${coalesce(var.layer_zip_path, "null")}\". Build the layer first (`make layer` or `shardsafe package --layer --zip PATH`)."
  }
}

variable "layer_name" {
  description = "Name of the layer create_layer publishes (1 to 140 letters, digits, '-' and '_'). Null: <name>-shardsafe."
  type        = string
  default     = null

  validation {
    condition     = var.layer_name == null || can(regex("^[A-Za-z0-9_-]{1,140}$", var.layer_name))
    error_message = "layer_name must be 1 to 140 letters, digits, '-' and '_' (a Lambda layer name); got \"${coalesce(var.layer_name, "null")}\"."
  }
}

variable "layer_arn" {
  description = "Version ARN of an existing shardsafe layer to attach to the function, ahead of `layers` (instead of create_layer). Null: none."
  type        = string
  default     = null

  validation {
    condition     = var.layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.layer_arn))
    error_message = "layer_arn must be a layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>); got \"${coalesce(var.layer_arn, "null")}\"."
  }

  validation {
    condition     = !(var.create_layer && var.layer_arn != null)
    error_message = "Set create_layer or layer_arn, not both: they are two ways to give the function shardsafe's layer (got create_layer = true and layer_arn = \"${coalesce(var.layer_arn, "null")}\")."
  }

  validation {
    condition     = !(var.create_layer || var.layer_arn != null) || length(var.layers) <= 4
    error_message = "With shardsafe's layer (create_layer or layer_arn) `layers` may list at most 4 more: Lambda attaches at most 5 layers to a function; got ${length(var.layers)}."
  }
}
