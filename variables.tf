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
    - retention_hours: the retention of an existing Kinesis stream, in hours (24..8760), to check
      the mapping's record age against. Required for a stream of another account or region: the
      module looks a stream up by name in the provider's account and region only, where another
      stream of that name could be found. Null for a stream of this account and region: read from
      Kinesis (kinesis:DescribeStream by whoever runs Terraform).
    - queue: settings of the queue the module creates (kind sqs, no arn):
      visibility_timeout_seconds (default six times the function's timeout, at least 30, at most
      43200; AWS advises at least six times), message_retention_seconds (default 4 days),
      max_receive_count (receives before a message moves to the dead-letter queue, 1..1000,
      default 5) and dead_letter_retention_seconds (default 14 days, the SQS maximum).
  EOT
  type = object({
    kind            = optional(string, "kinesis")
    create          = optional(bool)
    arn             = optional(string)
    kms_key_arn     = optional(string)
    retention_hours = optional(number)
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
    condition = var.event_source.retention_hours == null || (
      var.event_source.kind == "kinesis" && var.event_source.arn != null && try(
        var.event_source.retention_hours >= 24 && var.event_source.retention_hours <= 8760 && floor(var.event_source.retention_hours) == var.event_source.retention_hours,
        false,
      )
    )
    error_message = "event_source.retention_hours is the retention of an existing Kinesis stream (kind \"kinesis\" with an arn), a whole number of hours from 24 to 8760; got ${coalesce(var.event_source.retention_hours, -1)} with kind \"${var.event_source.kind}\" and ${var.event_source.arn == null ? "no arn (the module's stream has retention_period)" : "an arn"}."
  }

  # SQS keeps a message's original enqueue time when it moves it to the dead-letter queue
  # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html):
  # a dead-letter queue keeping messages for less time than the source can expire them on arrival.
  validation {
    condition = try(
      coalesce(var.event_source.queue.dead_letter_retention_seconds, 1209600) >= coalesce(var.event_source.queue.message_retention_seconds, 345600),
      true,
    )
    error_message = "event_source.queue.dead_letter_retention_seconds (${coalesce(var.event_source.queue.dead_letter_retention_seconds, 1209600)}) must be at least message_retention_seconds (${coalesce(var.event_source.queue.message_retention_seconds, 345600)}): SQS keeps a message's original enqueue time when it moves it to the dead-letter queue, so a shorter retention there can delete it on arrival."
  }

  validation {
    condition     = var.event_source.queue.max_receive_count == null || try(var.event_source.queue.max_receive_count >= 1 && var.event_source.queue.max_receive_count <= 1000 && floor(var.event_source.queue.max_receive_count) == var.event_source.queue.max_receive_count, false)
    error_message = "event_source.queue.max_receive_count must be a whole number from 1 to 1000 (receives before SQS moves a message to the dead-letter queue); got ${coalesce(var.event_source.queue.max_receive_count, -1)}."
  }
}

variable "stream_name" {
  description = "Name of the Kinesis stream the module creates. Defaults to name."
  type        = string
  default     = null

  validation {
    condition     = var.stream_name == null || can(regex("^[A-Za-z0-9_.-]{1,128}$", var.stream_name))
    error_message = "stream_name must be 1 to 128 characters of letters, digits, '.', '-' and '_'; got \"${coalesce(var.stream_name, "null")}\"."
  }

  validation {
    condition     = var.stream_name == null || (var.event_source.kind == "kinesis" && coalesce(var.event_source.create, var.event_source.arn == null))
    error_message = "stream_name names the stream the module creates; with ${var.event_source.kind != "kinesis" ? "kind \"${var.event_source.kind}\"" : "an existing stream (event_source.arn)"} there is none, and it would be ignored: remove it (got \"${coalesce(var.stream_name, "null")}\")."
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

  validation {
    condition     = var.stream_kms_key_arn == null || var.stream_encryption_enabled || var.event_source.arn != null
    error_message = "stream_kms_key_arn (\"${coalesce(var.stream_kms_key_arn, "null")}\") would encrypt the stream the module creates, but stream_encryption_enabled is false: the key would be ignored and the stream left unencrypted. Turn encryption on, or remove the key."
  }
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
  description = "Kinesis: register an enhanced fan-out consumer on the stream and have the mapping read through it (dedicated 2 MB/s per shard read throughput; extra cost)."
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

  validation {
    condition     = var.stream_consumer_name == null || var.create_stream_consumer
    error_message = "stream_consumer_name (\"${coalesce(var.stream_consumer_name, "null")}\") names the enhanced fan-out consumer, which only create_stream_consumer = true registers: set it, or remove the name."
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

variable "ephemeral_storage_size" {
  description = "Size of the function's /tmp in MB (512..10240; default 512, what Lambda gives at no extra cost)."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = var.ephemeral_storage_size >= 512 && var.ephemeral_storage_size <= 10240 && floor(var.ephemeral_storage_size) == var.ephemeral_storage_size
    error_message = "ephemeral_storage_size must be a whole number of MB from 512 to 10240; got ${var.ephemeral_storage_size}."
  }
}

variable "environment_variables" {
  description = "Environment variables of the function, merged with the ones the module sets (SHARDSAFE_QUARANTINE_SINK, SHARDSAFE_QUARANTINE_QUEUE_URL or SHARDSAFE_QUARANTINE_TOPIC_ARN, SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES, SHARDSAFE_CLAIM_CHECK_BUCKET, SHARDSAFE_CLAIM_CHECK_PREFIX, SHARDSAFE_IDEMPOTENCY_TABLE, SHARDSAFE_LARGE_MESSAGE_BUCKETS, SHARDSAFE_METRICS_NAMESPACE, SHARDSAFE_REPORT_BATCH_ITEM_FAILURES), which cannot be overridden here."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = length(setintersection(keys(var.environment_variables), local.reserved_environment_variables)) == 0
    error_message = "environment_variables must not set ${jsonencode(sort(setintersection(keys(var.environment_variables), local.reserved_environment_variables)))}: the module sets them from quarantine, claim_check, idempotency_table, large_message_buckets, metrics_namespace and event_source_mapping.report_batch_item_failures; remove them."
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

variable "logging" {
  description = <<-EOT
    How Lambda sends the function's logs to its log group (logging_config). shardsafe's handler
    writes every line as JSON on stdout with a `level` key (INFO, WARNING or ERROR); its metrics are
    EMF lines without one. What each choice keeps of them
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html):
    - log_format Text (the default): every line is kept as written; no filtering.
    - log_format JSON: Lambda filters lines on their `level`; a line without one, or with a level
      it does not know, counts as INFO. Levels are TRACE, DEBUG, INFO, WARN, ERROR, FATAL:
      - application_log_level INFO (the default with JSON), DEBUG or TRACE: every shardsafe line
        and metric is kept.
      - WARN: the batch summary lines and the EMF metric lines are dropped (INFO): the
        RecordsQuarantined alarm and the dashboard's record counts see nothing. A line at
        `WARNING` (the handler's retryable lines) is not a level Lambda lists: expect it read as
        INFO and dropped. The poison and last-resort lines (ERROR) are kept.
      - ERROR: as WARN; only ERROR lines are kept, among them the poison lines and the last-resort
        lines that are the only copy of a record when neither the quarantine nor S3 took it.
      - FATAL is refused: it would drop those ERROR lines (the last-resort copy is then written at FATAL
        and kept, but every poison line and warning is lost).
      - system_log_level (DEBUG, INFO, WARN; default INFO) filters Lambda's own lines: WARN drops
        START, END and REPORT (duration, memory).
    A check warns when the application level drops the metrics.
  EOT
  type = object({
    log_format            = optional(string, "Text")
    application_log_level = optional(string)
    system_log_level      = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["Text", "JSON"], var.logging.log_format)
    error_message = "logging.log_format must be \"Text\" or \"JSON\"; got \"${var.logging.log_format}\"."
  }

  validation {
    condition     = var.logging.log_format == "JSON" || (var.logging.application_log_level == null && var.logging.system_log_level == null)
    error_message = "logging.application_log_level and system_log_level filter JSON logs only (Lambda ignores them with Text, and the module would too): set log_format = \"JSON\", or remove them (got ${jsonencode(var.logging)})."
  }

  validation {
    condition     = var.logging.application_log_level == null || contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], coalesce(var.logging.application_log_level, "INFO"))
    error_message = "logging.application_log_level must be TRACE, DEBUG, INFO, WARN or ERROR; got \"${coalesce(var.logging.application_log_level, "null")}\".${coalesce(var.logging.application_log_level, "-") == "FATAL" ? " FATAL is refused: Lambda would drop shardsafe's ERROR lines, every poison record's line among them." : ""}"
  }

  validation {
    condition     = var.logging.system_log_level == null || contains(["DEBUG", "INFO", "WARN"], coalesce(var.logging.system_log_level, "INFO"))
    error_message = "logging.system_log_level must be DEBUG, INFO or WARN; got \"${coalesce(var.logging.system_log_level, "null")}\"."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the handler's metrics (RecordsProcessed, RecordsSkipped, RecordsQuarantined, RecordsHandedBack, BatchDuration), passed to the function as SHARDSAFE_METRICS_NAMESPACE and used by the quarantine alarm and the dashboard."
  type        = string
  default     = "shardsafe"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1 to 255 characters of letters, digits and . _ / # : - and must not start with \"AWS/\"; got \"${var.metrics_namespace}\"."
  }
}

variable "vpc" {
  description = <<-EOT
    Run the function in a VPC: subnet_ids (1 to 16, private subnets: a function in a VPC reaches
    the internet and AWS's endpoints only through a NAT gateway or VPC endpoints for Kinesis, SQS,
    SNS, S3, DynamoDB, CloudWatch and X-Ray), security_group_ids (1 to 5) and
    ipv6_allowed_for_dual_stack. The role gets the network-interface permissions Lambda needs
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html): the two Describe
    actions on `*`, which AWS cannot scope, and the others in this account and region. Null: no VPC.
  EOT
  type = object({
    subnet_ids                  = list(string)
    security_group_ids          = list(string)
    ipv6_allowed_for_dual_stack = optional(bool, false)
  })
  default = null

  validation {
    condition = var.vpc == null || try(
      length(var.vpc.subnet_ids) >= 1 && length(var.vpc.subnet_ids) <= 16 &&
      alltrue([for id in var.vpc.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))]),
      false,
    )
    error_message = "vpc.subnet_ids must be 1 to 16 subnet ids (subnet-0123456789abcdef0); got ${jsonencode(try(var.vpc.subnet_ids, null))}."
  }

  validation {
    condition = var.vpc == null || try(
      length(var.vpc.security_group_ids) >= 1 && length(var.vpc.security_group_ids) <= 5 &&
      alltrue([for id in var.vpc.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))]),
      false,
    )
    error_message = "vpc.security_group_ids must be 1 to 5 security group ids (sg-0123456789abcdef0); got ${jsonencode(try(var.vpc.security_group_ids, null))}."
  }
}

variable "publish" {
  description = "Publish a new version of the function whenever its code or configuration changes. Needed for an alias."
  type        = bool
  default     = false
  nullable    = false
}

variable "alias" {
  description = "An alias (name, and an optional description) on the version this apply published (publish = true): the event source mapping invokes the alias, so a deployment takes effect when the alias moves, and the function_qualifier output names it. Null: the mapping invokes the function's latest code ($LATEST)."
  type = object({
    name        = string
    description = optional(string)
  })
  default = null

  validation {
    condition     = var.alias == null || var.publish
    error_message = "alias needs publish = true: an alias points at a published version, and without publishing there is only $LATEST."
  }

  validation {
    condition     = var.alias == null || try(can(regex("^[A-Za-z0-9_-]{1,128}$", var.alias.name)) && !can(regex("^[0-9]+$", var.alias.name)), false)
    error_message = "alias.name must be 1 to 128 letters, digits, '-' and '_', and not only digits (a version number); got \"${try(var.alias.name, "null")}\"."
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
  description = "ARN of an existing execution role for the function. Required when create_role is false, refused otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.create_role || var.role_arn != null
    error_message = "role_arn is required when create_role is false: pass the ARN of the function's execution role (arn:<partition>:iam::<account>:role/<name>)."
  }

  validation {
    condition     = var.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.role_arn))
    error_message = "role_arn must be an IAM role ARN (arn:<partition>:iam::<account>:role/<path/><name>, no wildcard); got \"${coalesce(var.role_arn, "null")}\"."
  }

  validation {
    condition     = !(var.create_role && var.role_arn != null)
    error_message = "role_arn (\"${coalesce(var.role_arn, "null")}\") is the role the function runs as when create_role is false; with create_role = true the module makes its own and would ignore it. Set create_role = false to use it, or remove it."
  }
}

variable "role_name" {
  description = "Name of the role the module creates (create_role). Defaults to name."
  type        = string
  default     = null

  validation {
    condition     = var.role_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be 1 to 64 characters of letters, digits and +=,.@_-; got \"${coalesce(var.role_name, "null")}\"."
  }

  validation {
    condition     = var.role_name == null || var.create_role
    error_message = "role_name (\"${coalesce(var.role_name, "null")}\") names the role the module creates, and create_role is false: it would be ignored. Remove it, or let the module create the role."
  }
}

variable "role_path" {
  description = "Path of the role the module creates (create_role), such as /service-roles/ (default /)."
  type        = string
  default     = "/"
  nullable    = false

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.role_path)) && length(var.role_path) <= 512
    error_message = "role_path must start and end with \"/\" and hold letters, digits and +=,.@_- between (at most 512 characters); got \"${var.role_path}\"."
  }

  validation {
    condition     = var.role_path == "/" || var.create_role
    error_message = "role_path (\"${var.role_path}\") is the path of the role the module creates, and create_role is false: it would be ignored. Remove it."
  }
}

variable "role_permissions_boundary_arn" {
  description = "ARN of a managed policy to set as the permissions boundary of the role the module creates (create_role)."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", var.role_permissions_boundary_arn))
    error_message = "role_permissions_boundary_arn must be an IAM managed policy ARN (arn:<partition>:iam::<account>:policy/<name>, no wildcard); got \"${coalesce(var.role_permissions_boundary_arn, "null")}\"."
  }

  validation {
    condition     = var.role_permissions_boundary_arn == null || var.create_role
    error_message = "role_permissions_boundary_arn (\"${coalesce(var.role_permissions_boundary_arn, "null")}\") is set on the role the module creates, and create_role is false: it would be ignored, and your role left without the boundary. Set the boundary on your role, and remove it here."
  }
}

variable "role_managed_policy_arns" {
  description = "ARNs of managed policies to attach to the role the module creates (create_role), for what your code does beyond the pipeline. Each one widens the role by what it grants, so prefer role_policy_statements, which are checked for wildcards; at most 20 (IAM's quota of managed policies per role is 10 unless raised, 20 at most)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.role_managed_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "role_managed_policy_arns must be IAM managed policy ARNs (arn:<partition>:iam::<account or aws>:policy/<path/><name>, no wildcard); got ${jsonencode([for arn in var.role_managed_policy_arns : arn if !can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", arn))])}."
  }

  validation {
    condition     = length(var.role_managed_policy_arns) <= 20 && length(distinct(var.role_managed_policy_arns)) == length(var.role_managed_policy_arns)
    error_message = "role_managed_policy_arns may list at most 20 policies, each once (IAM attaches at most 20 to a role); got ${length(var.role_managed_policy_arns)}."
  }

  validation {
    condition     = length(var.role_managed_policy_arns) == 0 || var.create_role
    error_message = "role_managed_policy_arns are attached to the role the module creates, and create_role is false: they would be ignored. Attach them to your role, and remove them here (got ${jsonencode(var.role_managed_policy_arns)})."
  }
}

variable "role_policy_statements" {
  description = <<-EOT
    Extra statements for the role's policy, keyed by statement id (letters and digits), for what your
    code does beyond the pipeline (for example s3:PutObject on an output bucket). They are added to
    the module's statements and can neither replace nor widen them: the module's statement ids are
    reserved. An Allow statement with a wildcard (`*` or `?`) anywhere in an action or a resource
    (`s3:*`, `s3:Get*`, `arn:aws:s3:::bucket/*`, `arn:*:*`) or granting iam:PassRole needs
    acknowledge_wildcard = true, so that a wide grant, or one that lets the function hand a role
    to a service, is never made by accident. A Deny statement only narrows and needs none.
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

  validation {
    condition     = length(setintersection([for sid in keys(var.role_policy_statements) : lower(sid)], [for sid in local.module_statement_ids : lower(sid)])) == 0
    error_message = "role_policy_statements must not use the module's statement ids (${join(", ", local.module_statement_ids)}, in any case); got ${jsonencode([for sid in keys(var.role_policy_statements) : sid if contains([for id in local.module_statement_ids : lower(id)], lower(sid))])}. Rename yours: the module's statements cannot be replaced."
  }

  validation {
    condition     = alltrue([for statement in values(var.role_policy_statements) : contains(["Allow", "Deny"], statement.effect)])
    error_message = "role_policy_statements[*].effect must be Allow or Deny."
  }

  validation {
    condition     = alltrue([for statement in values(var.role_policy_statements) : length(statement.actions) > 0 && length(statement.resources) > 0])
    error_message = "role_policy_statements[*] must each list at least one action and one resource."
  }

  # Any "*" or "?" in an action or a resource widens the grant past what is named (in an ARN it
  # matches any text, "/" and ":" included: arn:aws:s3:::* is every bucket, "a*/" every prefix
  # starting with a); iam:PassRole lets the function give a role to a service.
  validation {
    condition = alltrue([
      for statement in values(var.role_policy_statements) : statement.acknowledge_wildcard || statement.effect == "Deny" || length([
        for value in concat(statement.actions, statement.resources) : value
        if strcontains(value, "*") || strcontains(value, "?") || lower(value) == "iam:passrole"
      ]) == 0
    ])
    error_message = "role_policy_statements ${jsonencode({ for sid, statement in var.role_policy_statements : sid => [for value in concat(statement.actions, statement.resources) : value if strcontains(value, "*") || strcontains(value, "?") || lower(value) == "iam:passrole"] if !statement.acknowledge_wildcard && statement.effect == "Allow" && length([for value in concat(statement.actions, statement.resources) : value if strcontains(value, "*") || strcontains(value, "?") || lower(value) == "iam:passrole"]) > 0 })} grant a wildcard (* or ?) or iam:PassRole: name the actions and resources exactly, or set acknowledge_wildcard = true on the statement if the wide grant is meant."
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
    - acknowledge_unbounded_retries: both of the above at -1 retry a failing batch for as long as
      the stream keeps it (a Kinesis stream up to a year): refused unless this is true. Without
      bisect as well, one bad record then holds its shard back that long (a check warns).
    - tumbling_window_in_seconds: aggregation window for stateful processing (0 is off, up to 900).
    SQS only:
    - maximum_concurrency: the most invocations the mapping runs at once (2..1000; default: Lambda's
      own scaling, up to 1000 batches at once), so that a burst cannot overload what the function
      writes to; at most reserved_concurrent_executions when that is set, or the excess is throttled.
      https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
    - provisioned_pollers: provisioned mode, { minimum = 2..200 (default 2), maximum = 2..2000
      (default 200) } event pollers kept ready, instead of on-demand polling; not with
      maximum_concurrency (AWS treats them as two scaling modes).
      https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-provisioned-mode
      AWS accepts up to 10000 pollers for SQS; AWS provider 5.100 validates 1..2000, so this
      module does too.
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
    provisioned_pollers = optional(object({
      minimum = optional(number, 2)
      maximum = optional(number, 200)
    }))
    acknowledge_unbounded_retries = optional(bool, false)
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

  # The stream the module creates has a known retention; an existing stream's is checked by the
  # mapping's precondition (mapping.tf).
  validation {
    condition = (
      var.event_source.kind != "kinesis" || !coalesce(var.event_source.create, var.event_source.arn == null) ||
      coalesce(var.event_source_mapping.maximum_record_age_in_seconds, 21600) == -1 ||
      coalesce(var.event_source_mapping.maximum_record_age_in_seconds, 21600) < var.retention_period * 3600
    )
    error_message = "event_source_mapping.maximum_record_age_in_seconds must be shorter than the stream's retention_period (${var.retention_period} h = ${var.retention_period * 3600} s), so that records the mapping gives up on can still be read from the stream; got ${coalesce(var.event_source_mapping.maximum_record_age_in_seconds, 21600)}."
  }

  validation {
    condition = !(
      var.event_source.kind != "sqs" && var.event_source_mapping.maximum_retry_attempts == -1 && var.event_source_mapping.maximum_record_age_in_seconds == -1
    ) || var.event_source_mapping.acknowledge_unbounded_retries
    error_message = "event_source_mapping.maximum_retry_attempts = -1 with maximum_record_age_in_seconds = -1 retries a failing batch for as long as the stream keeps its records (a Kinesis stream up to 8760 h), and every record behind it in its shard waits that long. Bound one of them, or set acknowledge_unbounded_retries = true if that is meant."
  }

  validation {
    condition = (
      var.event_source_mapping.maximum_concurrency == null || var.reserved_concurrent_executions == null ||
      try(var.event_source_mapping.maximum_concurrency <= var.reserved_concurrent_executions, true)
    )
    error_message = "event_source_mapping.maximum_concurrency (${coalesce(var.event_source_mapping.maximum_concurrency, -1)}) must not exceed reserved_concurrent_executions (${coalesce(var.reserved_concurrent_executions, -1)}): the mapping would start invocations the function cannot run, and they would be throttled (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). Lower maximum_concurrency, or reserve more."
  }

  validation {
    condition = var.event_source_mapping.provisioned_pollers == null || (
      var.event_source.kind == "sqs" && var.event_source_mapping.maximum_concurrency == null && try(
        var.event_source_mapping.provisioned_pollers.minimum >= 2 && var.event_source_mapping.provisioned_pollers.minimum <= 200 &&
        var.event_source_mapping.provisioned_pollers.maximum >= 2 && var.event_source_mapping.provisioned_pollers.maximum <= 2000 &&
        var.event_source_mapping.provisioned_pollers.minimum <= var.event_source_mapping.provisioned_pollers.maximum &&
        floor(var.event_source_mapping.provisioned_pollers.minimum) == var.event_source_mapping.provisioned_pollers.minimum &&
        floor(var.event_source_mapping.provisioned_pollers.maximum) == var.event_source_mapping.provisioned_pollers.maximum,
        false,
      )
    )
    error_message = "event_source_mapping.provisioned_pollers is SQS's provisioned mode: for kind \"sqs\" only, without maximum_concurrency, with whole numbers minimum 2..200 and maximum 2..2000, minimum not above maximum; got ${jsonencode(var.event_source_mapping.provisioned_pollers)} with kind \"${var.event_source.kind}\"${var.event_source_mapping.maximum_concurrency != null ? " and maximum_concurrency ${var.event_source_mapping.maximum_concurrency}" : ""}."
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
      may use this key only. With sqs and no arn, set quarantine.kms_key_arn instead.
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
    error_message = "failure_destination.kms_key_arn must be null with kind \"sqs\" and no arn: the quarantine queue is then the destination; set its key with quarantine.kms_key_arn."
  }

  validation {
    condition = !(var.failure_destination.kind == "sqs" && var.failure_destination.arn == null) || (
      var.quarantine.kind == "sqs" || coalesce(var.quarantine.create, var.quarantine.arn == null)
    )
    error_message = "failure_destination kind \"sqs\" without an arn sends to the quarantine queue, and quarantine names an existing SNS topic (\"${coalesce(var.quarantine.arn, "null")}\"), whose subscribers are not the module's: pass failure_destination.arn, or use kind \"s3\"."
  }

  validation {
    condition     = var.failure_destination.retention_days == null || try(var.failure_destination.retention_days >= 1 && floor(var.failure_destination.retention_days) == var.failure_destination.retention_days, false)
    error_message = "failure_destination.retention_days must be a whole number of days of at least 1 (null: 30); got ${coalesce(var.failure_destination.retention_days, -1)}."
  }

  validation {
    condition     = var.failure_destination.retention_days == null || (var.failure_destination.kind == "s3" && var.failure_destination.arn == null)
    error_message = "failure_destination.retention_days applies only to the bucket the module creates (kind \"s3\", no arn); remove it: an existing destination keeps records as it is configured to, and the quarantine queue's retention is quarantine.message_retention_seconds."
  }
}

# --- Quarantine ---

variable "quarantine" {
  description = <<-EOT
    Where the handler sends the records it cannot process (their quarantine envelopes).
    - kind: sqs (the default) or sns. The function is told which (SHARDSAFE_QUARANTINE_SINK) and
      where (SHARDSAFE_QUARANTINE_QUEUE_URL for sqs, SHARDSAFE_QUARANTINE_TOPIC_ARN for sns).
      - sqs: an SQS standard queue: the module's (<name>-failures, encrypted, 14 days), or an
        existing one by arn and url.
      - sns: an SNS standard topic the handler publishes to. The module's is <name>-quarantine
        (encrypted), with the queue <name>-failures subscribed with raw message delivery as the
        durable store (a topic keeps nothing: without it every record published would be lost):
        add other subscribers to the topic as you need. An existing topic by arn must have a
        durable subscriber of its own (an SQS queue with raw message delivery, a Firehose
        stream), or what the handler publishes is lost; its delivery failures are alarmed.
    - create: whether the module creates the queue (sqs) or the topic and its store queue (sns).
      Default: when arn is null. Set it (false with an arn) when arn comes from a resource of the
      same configuration: Terraform must know at plan time whether to create them.
    - arn: the existing queue (arn:<partition>:sqs:<region>:<account>:<name>) or topic
      (arn:<partition>:sns:<region>:<account>:<name>); not FIFO.
    - url: the existing queue's URL (kind sqs with arn): the handler sends to it, the role may
      send to arn, so they must name one queue.
    - kms_key_arn: the customer managed key of the queue and topic the module creates (default:
      SSE-SQS for the queue, the AWS managed key alias/aws/sns for the topic), or of the existing
      queue or topic. The role may use this key only, through SQS or SNS. With sns, the key
      policy must also let sns.amazonaws.com use it, to deliver to the store queue.
    - message_retention_seconds: how long the created queue keeps an envelope (60..1209600;
      default 1209600, 14 days, the SQS maximum).
    - max_message_size: the largest envelope in bytes (1024..1048576; default 262144), set on the
      created queue and passed to the handler (SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES), which
      writes a larger one as a claim check. SQS and SNS take up to 1 MiB (1048576) when the queue's
      MaximumMessageSize, or the topic's, is raised: AWS provider 5.x sets at most 262144 on a
      queue (6.8.0 and later accept 1048576) and sets no topic size, so a topic the module creates
      takes 262144 at most. For an existing queue or topic, set its MaximumMessageSize (for a topic,
      no more than its store queue's).
      https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.html
    - dead_letter: a dead-letter queue (<name>-failures-dlq) for the created quarantine queue:
      an envelope received max_receive_count times (1..1000, default 10) by whatever reads the
      quarantine moves there instead of being received forever; retention_seconds (default 14
      days) must be at least the quarantine queue's, since SQS keeps the original enqueue time.
      Null: none. Inspecting the quarantine with ReceiveMessage counts as a receive.
  EOT
  type = object({
    kind                      = optional(string, "sqs")
    create                    = optional(bool)
    arn                       = optional(string)
    url                       = optional(string)
    kms_key_arn               = optional(string)
    message_retention_seconds = optional(number)
    max_message_size          = optional(number, 262144)
    dead_letter = optional(object({
      max_receive_count = optional(number, 10)
      retention_seconds = optional(number, 1209600)
    }))
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["sqs", "sns"], var.quarantine.kind)
    error_message = "quarantine.kind must be \"sqs\" or \"sns\"; got \"${var.quarantine.kind}\"."
  }

  validation {
    condition = var.quarantine.arn == null || (
      var.quarantine.kind == "sqs" ? can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}$", var.quarantine.arn))
      : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.quarantine.arn))
    )
    error_message = "quarantine.arn must be the ARN of a standard ${var.quarantine.kind == "sns" ? "SNS topic (arn:<partition>:sns:<region>:<account>:<topic>)" : "SQS queue (arn:<partition>:sqs:<region>:<account>:<queue>)"}, not FIFO, without wildcards; got \"${coalesce(var.quarantine.arn, "null")}\"."
  }

  validation {
    condition = (
      var.quarantine.create == null ? true
      : var.quarantine.create ? var.quarantine.arn == null
      : var.quarantine.arn != null
    )
    error_message = "quarantine.create must be false with an arn (the module uses that ${var.quarantine.kind == "sns" ? "topic" : "queue"}) and true without one (the module creates it); got create = ${jsonencode(var.quarantine.create)} and ${var.quarantine.arn == null ? "no arn" : "an arn"}."
  }

  validation {
    condition     = var.quarantine.kind != "sqs" || var.quarantine.arn == null || var.quarantine.url != null
    error_message = "quarantine.url is required with an existing queue (kind \"sqs\" and arn \"${coalesce(var.quarantine.arn, "null")}\"): pass its URL (https://sqs.<region>.amazonaws.com/<account>/<name>), where the handler sends."
  }

  validation {
    condition     = var.quarantine.url == null || (var.quarantine.kind == "sqs" && var.quarantine.arn != null)
    error_message = "quarantine.url names an existing queue and goes with kind \"sqs\" and its arn; got kind \"${var.quarantine.kind}\" and ${var.quarantine.arn == null ? "no arn" : "an arn"}."
  }

  # The role may send to the ARN's queue and the handler sends to the URL's: they must be one queue,
  # or every quarantined record would be refused. A queue URL ends in /<account>/<name>.
  validation {
    condition = var.quarantine.url == null || var.quarantine.arn == null || try(
      regex("^https?://[^/]+/([0-9]{12})/([A-Za-z0-9_-]{1,80})$", var.quarantine.url) == [split(":", var.quarantine.arn)[4], split(":", var.quarantine.arn)[5]],
      false
    )
    error_message = "quarantine.url and quarantine.arn must name the same queue: the URL must end in /<account>/<name> of the ARN (${try("/${split(":", var.quarantine.arn)[4]}/${split(":", var.quarantine.arn)[5]}", "?")}); got url \"${coalesce(var.quarantine.url, "null")}\" and arn \"${coalesce(var.quarantine.arn, "null")}\"."
  }

  validation {
    condition     = var.quarantine.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.quarantine.kms_key_arn))
    error_message = "quarantine.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id; got \"${coalesce(var.quarantine.kms_key_arn, "null")}\"."
  }

  validation {
    condition     = var.quarantine.message_retention_seconds == null || coalesce(var.quarantine.create, var.quarantine.arn == null)
    error_message = "quarantine.message_retention_seconds (${coalesce(var.quarantine.message_retention_seconds, -1)}) configures the queue the module creates; an existing ${var.quarantine.kind == "sns" ? "topic's subscribers keep" : "queue keeps"} messages as configured: remove it."
  }

  validation {
    condition     = var.quarantine.message_retention_seconds == null || try(var.quarantine.message_retention_seconds >= 60 && var.quarantine.message_retention_seconds <= 1209600, false)
    error_message = "quarantine.message_retention_seconds must be from 60 to 1209600 (14 days); got ${coalesce(var.quarantine.message_retention_seconds, -1)}."
  }

  validation {
    condition     = var.quarantine.max_message_size >= 1024 && var.quarantine.max_message_size <= 1048576 && floor(var.quarantine.max_message_size) == var.quarantine.max_message_size
    error_message = "quarantine.max_message_size must be a whole number of bytes from 1024 to 1048576 (1 MiB, the SQS and SNS maximum); got ${var.quarantine.max_message_size}."
  }

  validation {
    condition     = !(var.quarantine.kind == "sns" && coalesce(var.quarantine.create, var.quarantine.arn == null)) || var.quarantine.max_message_size <= 262144
    error_message = "quarantine.max_message_size (${var.quarantine.max_message_size}) is above 262144, the size of the topic the module creates (SNS's default MaximumMessageSize, which AWS provider 5.x cannot raise): a larger envelope would be refused at publish. Keep it at 262144 or less, or pass an existing topic whose MaximumMessageSize you raised."
  }

  validation {
    condition     = var.quarantine.dead_letter == null || coalesce(var.quarantine.create, var.quarantine.arn == null)
    error_message = "quarantine.dead_letter adds a dead-letter queue to the quarantine queue the module creates; an existing queue or topic has its own redrive settings: remove it."
  }

  validation {
    condition = var.quarantine.dead_letter == null || try(
      var.quarantine.dead_letter.max_receive_count >= 1 && var.quarantine.dead_letter.max_receive_count <= 1000 && floor(var.quarantine.dead_letter.max_receive_count) == var.quarantine.dead_letter.max_receive_count &&
      var.quarantine.dead_letter.retention_seconds >= 60 && var.quarantine.dead_letter.retention_seconds <= 1209600,
      false,
    )
    error_message = "quarantine.dead_letter.max_receive_count must be a whole number from 1 to 1000 and retention_seconds from 60 to 1209600; got ${jsonencode(var.quarantine.dead_letter)}."
  }

  # SQS keeps a message's original enqueue time when it moves it to the dead-letter queue
  # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
  validation {
    condition     = var.quarantine.dead_letter == null || try(var.quarantine.dead_letter.retention_seconds >= coalesce(var.quarantine.message_retention_seconds, 1209600), true)
    error_message = "quarantine.dead_letter.retention_seconds (${try(var.quarantine.dead_letter.retention_seconds, -1)}) must be at least the quarantine queue's message_retention_seconds (${coalesce(var.quarantine.message_retention_seconds, 1209600)}): SQS keeps a message's original enqueue time when it moves it, so a shorter retention there can delete a quarantined record on arrival."
  }
}

variable "claim_check" {
  description = <<-EOT
    Where the handler writes a record whose quarantine envelope would not fit the quarantine queue
    (quarantine.max_message_size): an object under the prefix, named in the envelope with its
    size and sha256. The module passes the location to the function as SHARDSAFE_CLAIM_CHECK_BUCKET
    (the bucket's name) and SHARDSAFE_CLAIM_CHECK_PREFIX, and lets the role write claim checks
    under the prefix and nowhere else in that bucket.
    - bucket_arn: a bucket for claim checks (arn:<partition>:s3:::<name>, of the function's
      account). Null: the failure bucket when failure_destination.kind is s3; otherwise no claim
      check, and the function gets neither variable.
    - prefix: key prefix of the claim-check objects (default claim-checks/): ends with a slash, is
      not under aws/, where Lambda writes its on-failure objects, and holds no * or ?: the role may
      write <bucket>/<prefix>*, which a wildcard in the prefix would widen.
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
    condition     = !strcontains(var.claim_check.prefix, "*") && !strcontains(var.claim_check.prefix, "?")
    error_message = "claim_check.prefix must not contain * or ? (got \"${var.claim_check.prefix}\"): the role may write claim checks to <bucket>/<prefix>*, and a wildcard in the prefix would let it write under other prefixes too (\"*/\" includes aws/lambda/, where Lambda writes). Name the prefix exactly, such as claim-checks/."
  }

  validation {
    condition     = strcontains(var.claim_check.prefix, "*") || strcontains(var.claim_check.prefix, "?") || (can(regex("^[A-Za-z0-9!_.'()-][A-Za-z0-9!_.'()/-]{0,254}/$", var.claim_check.prefix)) && !strcontains(var.claim_check.prefix, "//"))
    error_message = "claim_check.prefix must be an S3 key prefix of letters, digits and !_.'()-/ that ends with \"/\" (claim-checks/, for example), without a leading or doubled \"/\"; got \"${var.claim_check.prefix}\"."
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

# --- Idempotency table ---

variable "idempotency_table" {
  description = <<-EOT
    A DynamoDB table where shardsafe's idempotency layer records the records it has acted on, so
    that a record Lambda delivers again is acted on once. The function gets its name
    (SHARDSAFE_IDEMPOTENCY_TABLE) and, on that table only, dynamodb:BatchGetItem, BatchWriteItem
    and PutItem, what the layer calls (a function that also runs Powertools' idempotency there
    needs its GetItem, UpdateItem and DeleteItem: role_policy_statements).
    - create: the module creates <name>-idempotency (or name): on-demand, partition key `id` (a
      string), time to live on `expiration`: AWS Lambda Powertools' idempotency table layout, so a
      team using Powertools can share the table and its tooling.
    - arn: instead, an existing table (arn:<partition>:dynamodb:<region>:<account>:table/<name>)
      of that layout.
    - name: the created table's name (default <name>-idempotency).
    - kms_key_arn: the customer managed key the created table is encrypted with (default:
      DynamoDB's AWS owned key), or the existing table's; the role may decrypt with it through
      DynamoDB only.
    - point_in_time_recovery: continuous backups of the created table (default true).
    - deletion_protection: refuse to delete the created table, terraform destroy included (default
      false: the table holds only keys that expire; losing it means a record may be acted on twice
      within their time to live).
  EOT
  type = object({
    create                 = optional(bool, false)
    arn                    = optional(string)
    name                   = optional(string)
    kms_key_arn            = optional(string)
    point_in_time_recovery = optional(bool, true)
    deletion_protection    = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !(var.idempotency_table.create && var.idempotency_table.arn != null)
    error_message = "idempotency_table takes create = true (the module's table) or arn (an existing one), not both; got arn \"${coalesce(var.idempotency_table.arn, "null")}\" with create = true."
  }

  validation {
    condition     = var.idempotency_table.arn == null || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.idempotency_table.arn))
    error_message = "idempotency_table.arn must be a DynamoDB table ARN (arn:<partition>:dynamodb:<region>:<account>:table/<name>), not an index or stream, without wildcards; got \"${coalesce(var.idempotency_table.arn, "null")}\"."
  }

  validation {
    condition     = var.idempotency_table.name == null || (var.idempotency_table.create && can(regex("^[A-Za-z0-9_.-]{3,255}$", coalesce(var.idempotency_table.name, "-"))))
    error_message = "idempotency_table.name names the table the module creates (create = true): 3 to 255 letters, digits, '_', '-' and '.'; got \"${coalesce(var.idempotency_table.name, "null")}\" with create = ${var.idempotency_table.create}."
  }

  validation {
    condition     = var.idempotency_table.kms_key_arn == null || ((var.idempotency_table.create || var.idempotency_table.arn != null) && can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", coalesce(var.idempotency_table.kms_key_arn, "-"))))
    error_message = "idempotency_table.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>) and goes with a table (create = true or arn); got \"${coalesce(var.idempotency_table.kms_key_arn, "null")}\"."
  }
}

# --- Large-message payloads ---

variable "large_message_buckets" {
  description = <<-EOT
    Buckets where producers using the SQS or SNS extended client keep large payloads, which the
    handler reads when a message is a pointer to one. The role gets s3:GetObject on these buckets'
    objects (<bucket arn>/*) and nothing wider (no ListBucket: S3 then answers a missing object
    with 403 AccessDenied rather than 404), and kms:Decrypt through S3 on kms_key_arns; the
    function gets their names, comma-separated (SHARDSAFE_LARGE_MESSAGE_BUCKETS), and may refuse a
    pointer to any other bucket.
    - bucket_arns: arn:<partition>:s3:::<name>, at most 20, no wildcards.
    - kms_key_arns: the customer managed keys those buckets' objects are encrypted with.
  EOT
  type = object({
    bucket_arns  = optional(list(string), [])
    kms_key_arns = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for arn in var.large_message_buckets.bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "large_message_buckets.bucket_arns must be S3 bucket ARNs (arn:<partition>:s3:::<bucket>), without wildcards or object paths: the role gets <bucket arn>/*, and a * or ? in the name would widen it to other buckets; got ${jsonencode([for arn in var.large_message_buckets.bucket_arns : arn if !can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])}."
  }

  validation {
    condition     = length(var.large_message_buckets.bucket_arns) <= 20 && length(distinct(var.large_message_buckets.bucket_arns)) == length(var.large_message_buckets.bucket_arns)
    error_message = "large_message_buckets.bucket_arns may name at most 20 buckets, each once; got ${length(var.large_message_buckets.bucket_arns)}."
  }

  validation {
    condition     = alltrue([for arn in var.large_message_buckets.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", arn))])
    error_message = "large_message_buckets.kms_key_arns must be KMS key ARNs (arn:<partition>:kms:<region>:<account>:key/<id>), not aliases, without wildcards; got ${jsonencode([for arn in var.large_message_buckets.kms_key_arns : arn if !can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", arn))])}."
  }

  validation {
    condition     = length(var.large_message_buckets.kms_key_arns) == 0 || length(var.large_message_buckets.bucket_arns) > 0
    error_message = "large_message_buckets.kms_key_arns are the keys of bucket_arns' objects and need bucket_arns."
  }
}

# --- Alarms ---

variable "create_alarms" {
  description = "Create CloudWatch alarms on function errors, throttles and duration near the timeout, on quarantined records, the quarantine queue's depth (and its dead-letter queue's), and an SNS quarantine topic's failed deliveries; for a stream on iterator age and (with event_source_mapping.metrics EventCount) records sent to the failure destination and records dropped; for a queue on the age of its oldest message and the depth of its dead-letter queue (when the module creates it). A check warns when alarm_actions is empty: such alarms notify nobody."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_actions" {
  description = "ARNs (SNS topics, for example) notified when an alarm fires. Empty: the alarms notify nobody (a check warns at plan)."
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

variable "duration_alarm_threshold_percent" {
  description = "Alarm when an invocation runs longer than this share of the function's timeout (Lambda Duration, Maximum), in percent (1..100, default 80): a batch about to time out."
  type        = number
  default     = 80
  nullable    = false

  validation {
    condition     = var.duration_alarm_threshold_percent >= 1 && var.duration_alarm_threshold_percent <= 100
    error_message = "duration_alarm_threshold_percent must be from 1 to 100; got ${var.duration_alarm_threshold_percent}."
  }
}

variable "quarantine_queue_alarm_threshold" {
  description = "Alarm when the quarantine queue (for kind sns, the store queue the module creates) holds more than this many visible messages."
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

# --- Dashboard ---

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard (dashboard_name) with the source's lag, the function's health and duration, the handler's record counts, the quarantine and the records sent to the failure destination or dropped."
  type        = bool
  default     = true
  nullable    = false
}

variable "dashboard_name" {
  description = "Name of the CloudWatch dashboard. Dashboards are global to an account, so the default, <name>-<region>, keeps the same pipeline in two regions from overwriting one dashboard."
  type        = string
  default     = null

  validation {
    condition     = var.dashboard_name == null || can(regex("^[A-Za-z0-9_-]{1,255}$", coalesce(var.dashboard_name, "-")))
    error_message = "dashboard_name must be 1 to 255 letters, digits, '-' and '_'; got \"${coalesce(var.dashboard_name, "null")}\"."
  }

  validation {
    condition     = var.dashboard_name == null || var.create_dashboard
    error_message = "dashboard_name (\"${coalesce(var.dashboard_name, "null")}\") names the dashboard, and create_dashboard is false: remove it."
  }
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

  validation {
    condition     = var.layer_zip_path == null || var.create_layer
    error_message = "layer_zip_path (\"${coalesce(var.layer_zip_path, "null")}\") is the zip create_layer publishes, and create_layer is false: it would be ignored. Set create_layer = true, or remove it."
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
    condition     = var.layer_name == null || var.create_layer
    error_message = "layer_name (\"${coalesce(var.layer_name, "null")}\") names the layer create_layer publishes, and create_layer is false: remove it."
  }

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
