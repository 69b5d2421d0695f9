# --- General ---

locals {
  source_kind = var.event_source.kind
  # Kinesis and DynamoDB streams share a mapping's stream arguments and failure handling; a queue has neither.
  source_is_stream = local.source_kind != "sqs"

  # Existing resources are named by ARN; their names are the ARN's last part. An existing Kinesis
  # stream is event_source.arn, or stream_arn with create_stream = false (the older way).
  # Whether to create the stream or queue is decided from known values only (event_source.create,
  # create_stream, whether an arn was given), never from an arn a resource will compute, so that
  # count is known at plan time.
  create_source = (
    local.source_kind == "dynamodb" ? false
    : var.event_source.create != null ? var.event_source.create
    : var.event_source.arn == null
  )
  create_stream = local.source_kind == "kinesis" ? (var.create_stream ? local.create_source : false) : false
  kinesis_existing_arn = local.source_kind != "kinesis" || local.create_stream ? null : (
    var.event_source.arn != null ? var.event_source.arn : var.stream_arn
  )

  stream_arn  = local.create_stream ? aws_kinesis_stream.this[0].arn : local.kinesis_existing_arn
  stream_name = local.create_stream ? aws_kinesis_stream.this[0].name : try(split("/", local.kinesis_existing_arn)[1], null)

  quarantine_queue_arn  = var.create_quarantine_queue ? aws_sqs_queue.quarantine[0].arn : var.quarantine_queue_arn
  quarantine_queue_url  = var.create_quarantine_queue ? aws_sqs_queue.quarantine[0].url : var.quarantine_queue_url
  quarantine_queue_name = var.create_quarantine_queue ? aws_sqs_queue.quarantine[0].name : try(split(":", var.quarantine_queue_arn)[5], null)

  role_arn = var.create_role ? aws_iam_role.this[0].arn : var.role_arn
  # The account the function runs in: its execution role's (arn:<partition>:iam::<account>:role/<name>),
  # which is always the function's own.
  account_id = split(":", local.role_arn)[4]
}

# --- Source ---

locals {
  create_source_queue = local.source_kind == "sqs" ? local.create_source : false

  source_queue_arn  = local.create_source_queue ? aws_sqs_queue.source[0].arn : (local.source_kind == "sqs" ? var.event_source.arn : null)
  source_queue_name = local.create_source_queue ? aws_sqs_queue.source[0].name : (local.source_kind == "sqs" ? split(":", var.event_source.arn)[5] : null)

  dynamodb_stream_arn = local.source_kind == "dynamodb" ? var.event_source.arn : null

  # What the mapping reads: the stream (or with enhanced fan-out its consumer), or the queue.
  event_source_arn = (
    local.source_kind == "kinesis" ? (var.create_stream_consumer ? aws_kinesis_stream_consumer.this[0].arn : local.stream_arn)
    : local.source_kind == "dynamodb" ? local.dynamodb_stream_arn
    : local.source_queue_arn
  )

  # The key the function must decrypt records with: a customer key of the created Kinesis stream or
  # of an existing one, or the source's key. AWS managed keys need no grant: their key policies admit
  # every principal of the account that calls through the service.
  source_kms_key_arn = (
    local.source_kind == "kinesis" ? ((!local.create_stream || var.stream_encryption_enabled) ? var.stream_kms_key_arn : null)
    : var.event_source.kms_key_arn
  )
}

# A message whose batch fails max_receive_count times moves here, where it stays until redriven.
resource "aws_sqs_queue" "source_dead_letter" {
  count = local.create_source_queue ? 1 : 0

  name                      = "${var.name}-source-dlq"
  message_retention_seconds = coalesce(var.event_source.queue.dead_letter_retention_seconds, 1209600)

  sqs_managed_sse_enabled           = var.event_source.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.event_source.kms_key_arn
  kms_data_key_reuse_period_seconds = var.event_source.kms_key_arn == null ? null : 300

  tags = var.tags
}

resource "aws_sqs_queue" "source" {
  count = local.create_source_queue ? 1 : 0

  name                      = "${var.name}-source"
  message_retention_seconds = coalesce(var.event_source.queue.message_retention_seconds, 345600)
  # AWS: at least six times the function's timeout, so that a batch is not received again while
  # Lambda retries a throttled invocation (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html).
  visibility_timeout_seconds = coalesce(var.event_source.queue.visibility_timeout_seconds, min(max(6 * var.timeout, 30), 43200))

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.source_dead_letter[0].arn
    maxReceiveCount     = coalesce(var.event_source.queue.max_receive_count, 5)
  })

  sqs_managed_sse_enabled           = var.event_source.kms_key_arn == null ? true : null
  kms_master_key_id                 = var.event_source.kms_key_arn
  kms_data_key_reuse_period_seconds = var.event_source.kms_key_arn == null ? null : 300

  tags = var.tags
}

# --- Stream ---

resource "aws_kinesis_stream" "this" {
  count = local.create_stream ? 1 : 0

  name             = coalesce(var.stream_name, var.name)
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  retention_period = var.retention_period

  encryption_type = var.stream_encryption_enabled ? "KMS" : "NONE"
  kms_key_id      = var.stream_encryption_enabled ? coalesce(var.stream_kms_key_arn, "alias/aws/kinesis") : null

  shard_level_metrics = var.shard_level_metrics

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = var.tags
}

resource "aws_kinesis_stream_consumer" "this" {
  count = var.create_stream_consumer ? 1 : 0

  name       = coalesce(var.stream_consumer_name, var.name)
  stream_arn = local.stream_arn
}

# An existing stream's retention, to check the mapping's record age against (the mapping's precondition).
data "aws_kinesis_stream" "existing" {
  count = local.source_kind == "kinesis" ? (local.create_stream ? 0 : 1) : 0

  name = local.stream_name
}

# --- Function ---

locals {
  # The module's variables come last so that they always win; the variable's validation rejects
  # user values for them rather than dropping them silently.
  # Lambda reads the handler's batchItemFailures only when the mapping reports them; otherwise the
  # handler must retry in process, or the records it hands back would be lost.
  # The handler's quarantine limit follows the queue's, and a record whose envelope would not fit
  # is written as a claim check under the prefix (when there is a claim-check bucket).
  function_environment = merge(
    var.environment_variables,
    {
      SHARDSAFE_QUARANTINE_QUEUE_URL         = local.quarantine_queue_url
      SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES = tostring(var.quarantine_queue_max_message_size)
      SHARDSAFE_METRICS_NAMESPACE            = var.metrics_namespace
      SHARDSAFE_REPORT_BATCH_ITEM_FAILURES   = tostring(var.event_source_mapping.report_batch_item_failures)
    },
    local.claim_check_enabled ? {
      SHARDSAFE_CLAIM_CHECK_BUCKET = local.claim_check_bucket_name
      SHARDSAFE_CLAIM_CHECK_PREFIX = var.claim_check.prefix
    } : {},
  )
}

# Created before the function so that Lambda does not create it without retention, and
# destroyed with the module rather than left behind.
resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:Retention is the caller's cost decision (log_retention_in_days, 30 days by default); every CloudWatch value up to 10 years is accepted.

  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_group_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:A function DLQ serves only asynchronous invocations; a stream's failed batches go to the mapping's on-failure destination (failure_destination).
  # checkov:skip=CKV_AWS_117:The function reaches Kinesis, SQS, S3, CloudWatch and X-Ray over their TLS endpoints and serves no network; a VPC would add NAT or endpoints, not isolation.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the deployed package is pinned by source_code_hash.

  function_name = var.name
  role          = local.role_arn

  filename         = var.function_zip_path
  source_code_hash = filebase64sha256(var.function_zip_path)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  layers           = local.function_layers

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.function_kms_key_arn

  environment {
    variables = local.function_environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The log group must exist before the first invocation, and the role's policy before the
  # mapping starts invoking.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

# --- IAM ---

locals {
  # A customer key may be used only through the service that encrypts with it, in the key's region
  # (kms:ViaService, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service):
  # the role cannot decrypt with it by calling KMS directly.
  kms_via = {
    for service in ["kinesis", "dynamodb", "sqs", "s3", "sns"] : service => {
      for key in distinct(compact([local.source_kms_key_arn, var.quarantine_queue_kms_key_arn, local.failure_destination_kms_key_arn, local.claim_check_kms_key_arn])) :
      key => {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["${service}.${split(":", key)[3]}.amazonaws.com"]
      }
    }
  }

  # What Lambda needs to read each kind of source, as AWS documents it, scoped to the source:
  # - Kinesis (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html, execution role
  #   permissions): kinesis:DescribeStream, DescribeStreamSummary, GetRecords, GetShardIterator,
  #   ListShards; for enhanced fan-out SubscribeToShard (and DescribeStreamConsumer) on the consumer.
  # - DynamoDB Streams (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, execution role
  #   permissions): dynamodb:DescribeStream, GetRecords, GetShardIterator.
  # - SQS (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, execution role permissions):
  #   sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes.
  # - an encrypted source: kms:Decrypt on its customer key.
  # kinesis:ListStreams and dynamodb:ListStreams, which AWS's managed policies also list, authorize
  # only on Resource "*" (Service Authorization Reference) and the mapping, given the stream's ARN,
  # does not call them; they are left out rather than granted on "*".
  source_policy_statements = merge(
    local.source_kind == "kinesis" ? {
      KinesisStreamRead = {
        effect     = "Allow"
        actions    = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
        resources  = [local.stream_arn]
        conditions = []
      }
    } : {},
    local.source_kind == "kinesis" && var.create_stream_consumer ? {
      KinesisConsumerRead = {
        effect     = "Allow"
        actions    = ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"]
        resources  = [aws_kinesis_stream_consumer.this[0].arn]
        conditions = []
      }
    } : {},
    local.source_kind == "dynamodb" ? {
      DynamoDBStreamRead = {
        effect     = "Allow"
        actions    = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        resources  = [local.dynamodb_stream_arn]
        conditions = []
      }
    } : {},
    local.source_kind == "sqs" ? {
      SourceQueueConsume = {
        effect     = "Allow"
        actions    = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
        resources  = [local.source_queue_arn]
        conditions = []
      }
    } : {},
    local.source_kms_key_arn != null ? {
      (local.source_kind == "kinesis" ? "StreamKeyDecrypt" : "SourceKeyDecrypt") = {
        effect     = "Allow"
        actions    = ["kms:Decrypt"]
        resources  = [local.source_kms_key_arn]
        conditions = [local.kms_via[local.source_kind][local.source_kms_key_arn]]
      }
    } : {},
  )

  # Every statement is scoped to a resource the module made or was given; only X-Ray's write
  # actions, which support no resource-level permissions, take "*".
  module_policy_statements = merge(
    local.source_policy_statements,
    {
      QuarantineQueueSend = {
        effect     = "Allow"
        actions    = ["sqs:SendMessage"]
        resources  = [local.quarantine_queue_arn]
        conditions = []
      }
      LogsWrite = {
        effect     = "Allow"
        actions    = ["logs:CreateLogStream", "logs:PutLogEvents"]
        resources  = ["${aws_cloudwatch_log_group.this.arn}:*"]
        conditions = []
      }
    },
    var.quarantine_queue_kms_key_arn != null ? {
      QuarantineQueueKeyUse = {
        effect     = "Allow"
        actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
        resources  = [var.quarantine_queue_kms_key_arn]
        conditions = [local.kms_via.sqs[var.quarantine_queue_kms_key_arn]]
      }
    } : {},
    local.failure_destination_statements,
    local.claim_check_statements,
    var.tracing_mode == "Active" ? {
      XRayWrite = {
        effect     = "Allow"
        actions    = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        resources  = ["*"]
        conditions = []
      }
    } : {},
  )

  # What the mapping needs to write to its on-failure destination, by kind, as AWS documents it
  # (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html): S3
  # s3:PutObject and s3:ListBucket, SQS sqs:SendMessage, SNS sns:Publish; with a customer key,
  # kms:GenerateDataKey for S3, kms:Decrypt and kms:GenerateDataKey for SQS and SNS.
  # Lambda writes its S3 objects under aws/lambda/<mapping UUID>/, and only there may it write.
  # A queue source has no on-failure destination (its dead-letter queue is SQS's own).
  failure_destination_statements = !local.source_is_stream ? {} : merge(
    local.destination_kind == "s3" ? {
      FailureBucketList = {
        effect     = "Allow"
        actions    = ["s3:ListBucket"]
        resources  = [local.failure_bucket_arn]
        conditions = [local.own_account_buckets_only]
      }
      FailureBucketWrite = {
        effect     = "Allow"
        actions    = ["s3:PutObject"]
        resources  = ["${local.failure_bucket_arn}/aws/lambda/*"]
        conditions = [local.own_account_buckets_only]
      }
    } : {},
    local.destination_kind == "sqs" ? {
      FailureQueueSend = {
        effect     = "Allow"
        actions    = ["sqs:SendMessage"]
        resources  = [local.failure_destination_arn]
        conditions = []
      }
    } : {},
    local.destination_kind == "sns" ? {
      FailureTopicPublish = {
        effect     = "Allow"
        actions    = ["sns:Publish"]
        resources  = [local.failure_destination_arn]
        conditions = []
      }
    } : {},
    local.failure_destination_kms_key_arn != null ? {
      (lookup({ s3 = "FailureBucketKeyUse", sqs = "FailureQueueKeyUse", sns = "FailureTopicKeyUse" }, local.destination_kind, "FailureDestinationKeyUse")) = {
        effect     = "Allow"
        actions    = local.destination_kind == "s3" ? ["kms:GenerateDataKey"] : ["kms:Decrypt", "kms:GenerateDataKey"]
        resources  = [local.failure_destination_kms_key_arn]
        conditions = [local.kms_via[local.destination_kind][local.failure_destination_kms_key_arn]]
      }
    } : {},
  )

  # The handler writes claim checks under their prefix, and nowhere else in the bucket.
  claim_check_statements = merge(
    local.claim_check_enabled ? {
      ClaimCheckWrite = {
        effect     = "Allow"
        actions    = ["s3:PutObject"]
        resources  = ["${local.claim_check_bucket_arn}/${var.claim_check.prefix}*"]
        conditions = [local.own_account_buckets_only]
      }
    } : {},
    local.claim_check_kms_key_arn != null ? {
      ClaimCheckKeyUse = {
        effect     = "Allow"
        actions    = ["kms:GenerateDataKey"]
        resources  = [local.claim_check_kms_key_arn]
        conditions = [local.kms_via.s3[local.claim_check_kms_key_arn]]
      }
    } : {},
  )

  # The caller's statements come first and the module's last, so that a statement id the variable's
  # validation missed could still not replace one of the module's.
  role_policy_statements = merge(
    {
      for sid, statement in var.role_policy_statements : sid => {
        effect     = statement.effect
        actions    = statement.actions
        resources  = statement.resources
        conditions = statement.conditions
      }
    },
    local.module_policy_statements,
  )

  # Rendered here rather than by a data source, so that the document attached to the role is
  # known at plan time and the plan tests read the statements the role actually gets.
  role_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for sid, statement in local.role_policy_statements : merge(
        {
          Sid      = sid
          Effect   = statement.effect
          Action   = sort(statement.actions)
          Resource = sort(statement.resources)
        },
        length(statement.conditions) == 0 ? {} : {
          Condition = {
            for test in distinct([for condition in statement.conditions : condition.test]) : test => {
              for condition in statement.conditions : condition.variable => condition.values if condition.test == test
            }
          }
        },
      )
    ]
  })

  assume_role_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaAssumeRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = coalesce(var.role_name, var.name)
  description          = "Execution role of the shardsafe function ${var.name}"
  assume_role_policy   = local.assume_role_policy_json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.create_role ? 1 : 0

  name   = "shardsafe-pipeline"
  role   = aws_iam_role.this[0].id
  policy = local.role_policy_json
}

# --- Event source mapping ---

locals {
  mapping = var.event_source_mapping

  # The stream-only arguments: their safe defaults for a stream, and null (not sent) for a queue.
  stream_settings = {
    starting_position              = coalesce(local.mapping.starting_position, "TRIM_HORIZON")
    parallelization_factor         = coalesce(local.mapping.parallelization_factor, 1)
    bisect_batch_on_function_error = coalesce(local.mapping.bisect_batch_on_function_error, true)
    maximum_retry_attempts         = coalesce(local.mapping.maximum_retry_attempts, 3)
    maximum_record_age_in_seconds  = coalesce(local.mapping.maximum_record_age_in_seconds, 21600)
    tumbling_window_in_seconds     = coalesce(local.mapping.tumbling_window_in_seconds, 0)
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  function_name    = aws_lambda_function.this.arn
  event_source_arn = local.event_source_arn
  enabled          = local.mapping.enabled

  batch_size                         = coalesce(local.mapping.batch_size, local.source_is_stream ? 100 : 10)
  maximum_batching_window_in_seconds = local.mapping.maximum_batching_window_in_seconds
  starting_position                  = local.source_is_stream ? local.stream_settings.starting_position : null
  starting_position_timestamp        = local.mapping.starting_position_timestamp
  parallelization_factor             = local.source_is_stream ? local.stream_settings.parallelization_factor : null
  tumbling_window_in_seconds         = local.source_is_stream ? local.stream_settings.tumbling_window_in_seconds : null

  # A failing batch is split until the bad record is alone, retried a finite number of times,
  # then sent to the on-failure destination, so one record never stalls its shard.
  bisect_batch_on_function_error = local.source_is_stream ? local.stream_settings.bisect_batch_on_function_error : null
  maximum_retry_attempts         = local.source_is_stream ? local.stream_settings.maximum_retry_attempts : null
  maximum_record_age_in_seconds  = local.source_is_stream ? local.stream_settings.maximum_record_age_in_seconds : null
  function_response_types        = local.mapping.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  # Streams only: a queue's failed messages go to its dead-letter queue.
  dynamic "destination_config" {
    for_each = local.source_is_stream ? [local.failure_destination_arn] : []

    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  # SQS only: at most this many invocations at once.
  dynamic "scaling_config" {
    for_each = local.mapping.maximum_concurrency != null ? [local.mapping.maximum_concurrency] : []

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  # EventCount: records sent to the destination, and records dropped (delivery failed).
  dynamic "metrics_config" {
    for_each = length(local.mapping.metrics) > 0 ? [local.mapping.metrics] : []

    content {
      metrics = metrics_config.value
    }
  }

  dynamic "filter_criteria" {
    for_each = length(local.mapping.filter_patterns) > 0 ? [local.mapping.filter_patterns] : []

    content {
      dynamic "filter" {
        for_each = toset(filter_criteria.value)

        content {
          pattern = filter.value
        }
      }
    }
  }

  # Encrypts the filter patterns at rest.
  kms_key_arn = local.mapping.kms_key_arn

  tags = var.tags

  lifecycle {
    # The stream the module creates is checked by the variable's validation; an existing stream's
    # retention is read from Kinesis. Records the mapping gives up on must still be in the stream.
    precondition {
      condition = (
        length(data.aws_kinesis_stream.existing) == 0 ||
        local.stream_settings.maximum_record_age_in_seconds == -1 ||
        try(local.stream_settings.maximum_record_age_in_seconds < data.aws_kinesis_stream.existing[0].retention_period * 3600, true)
      )
      error_message = "event_source_mapping.maximum_record_age_in_seconds (${local.stream_settings.maximum_record_age_in_seconds} s) must be shorter than the retention of the existing stream ${coalesce(local.stream_name, "?")} (${try(data.aws_kinesis_stream.existing[0].retention_period, "?")} h), so that records the mapping gives up on can still be read from it: lower the record age, or raise the stream's retention."
    }
  }

  # Lambda checks at creation that the role can read the source and write to the destination; no
  # record reaches the failure bucket before its protections are in place.
  depends_on = [
    aws_iam_role_policy.this,
    aws_s3_bucket_ownership_controls.failures,
    aws_s3_bucket_policy.failures,
    aws_s3_bucket_public_access_block.failures,
    aws_s3_bucket_server_side_encryption_configuration.failures,
  ]
}

# --- Failure destination ---

locals {
  destination_kind = var.failure_destination.kind

  # kind "s3" without an ARN: the module's failure bucket. kind "sqs" without an ARN: the quarantine
  # queue doubles as destination (the module's behaviour before the failure bucket). kind "sns"
  # always names an existing topic (the variable's validation).
  create_failure_bucket = local.destination_kind == "s3" && var.failure_destination.arn == null
  uses_quarantine_queue = local.destination_kind == "sqs" && var.failure_destination.arn == null

  # S3 ARNs carry the bucket name and no region or account: arn:<partition>:s3:::<name>.
  failure_bucket_arn = (
    local.create_failure_bucket ? aws_s3_bucket.failures[0].arn
    : local.destination_kind == "s3" ? var.failure_destination.arn : null
  )
  failure_bucket_name = (
    local.create_failure_bucket ? aws_s3_bucket.failures[0].bucket
    : local.destination_kind == "s3" ? try(split(":::", var.failure_destination.arn)[1], null) : null
  )

  failure_destination_arn = (
    local.destination_kind == "s3" ? local.failure_bucket_arn
    : local.uses_quarantine_queue ? local.quarantine_queue_arn : var.failure_destination.arn
  )
  failure_destination_kms_key_arn = local.uses_quarantine_queue ? var.quarantine_queue_kms_key_arn : var.failure_destination.kms_key_arn

  # Bucket names are lowercase letters, digits, '.' and '-'; bucket_prefix takes at most 37 characters.
  failure_bucket_prefix = "${substr(trim(lower(replace(var.name, "_", "-")), "-"), 0, 27)}-failures-"

  # Claim checks (records too big for the quarantine queue) go to the failure bucket when the
  # destination is S3, or to claim_check.bucket_arn; without either there is no claim check.
  claim_check_enabled = var.claim_check.bucket_arn != null || local.destination_kind == "s3"
  claim_check_bucket_arn = (
    var.claim_check.bucket_arn != null ? var.claim_check.bucket_arn
    : local.destination_kind == "s3" ? local.failure_bucket_arn : null
  )
  # The failure bucket's key is granted with the destination's statements, which a queue source has none of.
  claim_check_kms_key_arn = (
    var.claim_check.kms_key_arn != null ? var.claim_check.kms_key_arn
    : !local.source_is_stream && local.create_failure_bucket ? var.failure_destination.kms_key_arn : null
  )
  claim_check_bucket_name = (
    var.claim_check.bucket_arn != null ? try(split(":::", var.claim_check.bucket_arn)[1], null)
    : local.destination_kind == "s3" ? local.failure_bucket_name : null
  )

  # AWS's warning for S3 destinations: a bucket that is deleted and re-created under the same name
  # by another account would receive the function's records. Every S3 permission of the role
  # therefore holds only for buckets of the function's own account.
  # https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
  own_account_buckets_only = {
    test     = "StringEquals"
    variable = "s3:ResourceAccount"
    values   = [local.account_id]
  }
}

# trivy:ignore:AVD-AWS-0089 Access logging needs a second bucket the caller owns (or CloudTrail data events, the caller's choice); only the mapping and the function write here.
# trivy:ignore:AVD-AWS-0090 Objects are written once under unique keys (Lambda's carry a UUID) and never overwritten; versioning would only keep what redrive deletes once it has written the records back.
resource "aws_s3_bucket" "failures" {
  # checkov:skip=CKV_AWS_18:Access logging needs a second bucket the caller owns (or CloudTrail data events, the caller's choice); only the mapping and the function write here.
  # checkov:skip=CKV_AWS_21:Objects are written once under unique keys (Lambda's carry a UUID) and never overwritten; versioning would only keep what redrive deletes once it has written the records back.
  # checkov:skip=CKV_AWS_144:Cross-region replication is the caller's disaster-recovery choice; the records also stay in the stream until its retention ends.
  # checkov:skip=CKV_AWS_145:SSE-S3 unless failure_destination.kms_key_arn names a customer key, as the module promises; pass one for SSE-KMS.
  # checkov:skip=CKV2_AWS_62:Nothing has to react to a failed batch at once: the failure-destination alarm reports it, and redrive reads the bucket.
  count = local.create_failure_bucket ? 1 : 0

  bucket_prefix = local.failure_bucket_prefix
  force_destroy = var.failure_destination.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  # ACLs off: every object belongs to the bucket's account, whoever wrote it.
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.failure_destination.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.failure_destination.kms_key_arn
    }
    # One data key per bucket rather than per object: fewer KMS calls for the same protection.
    bucket_key_enabled = var.failure_destination.kms_key_arn == null ? null : true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  rule {
    id     = "expire-failed-records"
    status = "Enabled"

    filter {}

    expiration {
      days = coalesce(var.failure_destination.retention_days, 30)
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "failure_bucket" {
  count = local.create_failure_bucket ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.failures[0].arn, "${aws_s3_bucket.failures[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id
  policy = data.aws_iam_policy_document.failure_bucket[0].json

  # S3 rejects concurrent changes to one bucket's configuration.
  depends_on = [aws_s3_bucket_public_access_block.failures]
}

# --- Quarantine queue ---

# The queue was the failure queue (destination and quarantine in one) before the failure bucket.
moved {
  from = aws_sqs_queue.on_failure
  to   = aws_sqs_queue.quarantine
}

resource "aws_sqs_queue" "quarantine" {
  count = var.create_quarantine_queue ? 1 : 0

  # The name it had as failure queue: renaming a queue replaces it, with its messages.
  name                      = "${var.name}-failures"
  message_retention_seconds = var.quarantine_queue_message_retention_seconds
  max_message_size          = var.quarantine_queue_max_message_size
  # Long enough for a redrive function with this function's timeout to work a message
  # (AWS advises six times the timeout), within the SQS maximum of 12 hours.
  visibility_timeout_seconds = min(max(6 * var.timeout, 30), 43200)

  sqs_managed_sse_enabled           = var.quarantine_queue_kms_key_arn == null ? true : null
  kms_master_key_id                 = var.quarantine_queue_kms_key_arn
  kms_data_key_reuse_period_seconds = var.quarantine_queue_kms_key_arn == null ? null : 300

  tags = var.tags
}

# --- Alarms and dashboard ---

locals {
  function_dimensions = { FunctionName = aws_lambda_function.this.function_name }
  mapping_dimensions  = { EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid }

  # The mapping publishes these only with metrics_config EventCount. Names and meanings:
  # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html#event-source-mapping-metrics
  mapping_event_counts = contains(local.mapping.metrics, "EventCount")

  alarms = var.create_alarms ? merge(
    local.source_is_stream ? {
      iterator_age = {
        description = "The function is falling behind: the newest record it read is more than ${var.iterator_age_alarm_threshold_ms} ms old."
        namespace   = "AWS/Lambda"
        metric_name = "IteratorAge"
        statistic   = "Maximum"
        dimensions  = local.function_dimensions
        threshold   = var.iterator_age_alarm_threshold_ms
      }
      } : {
      source_queue_age = {
        description = "The oldest message of the source queue ${local.source_queue_name} is more than ${var.source_queue_age_alarm_threshold_seconds} s old: the function is falling behind, or a message keeps failing."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateAgeOfOldestMessage"
        statistic   = "Maximum"
        dimensions  = { QueueName = local.source_queue_name }
        threshold   = var.source_queue_age_alarm_threshold_seconds
      }
    },
    local.create_source_queue ? {
      dead_letter_queue_depth = {
        description = "Messages wait in the source queue's dead-letter queue ${aws_sqs_queue.source_dead_letter[0].name}: their batch failed ${coalesce(var.event_source.queue.max_receive_count, 5)} times. Inspect and redrive them."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        statistic   = "Maximum"
        dimensions  = { QueueName = aws_sqs_queue.source_dead_letter[0].name }
        threshold   = var.dead_letter_queue_alarm_threshold
      }
    } : {},
    {
      errors = {
        description = local.source_is_stream ? "The function failed whole batches (they are bisected and retried, then sent to the failure destination)." : "The function failed whole batches (their messages are received again, then moved to the dead-letter queue)."
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        statistic   = "Sum"
        dimensions  = local.function_dimensions
        threshold   = var.errors_alarm_threshold
      }
      throttles = {
        description = "Invocations of the function were throttled: the source is read more slowly than it could be."
        namespace   = "AWS/Lambda"
        metric_name = "Throttles"
        statistic   = "Sum"
        dimensions  = local.function_dimensions
        threshold   = var.throttles_alarm_threshold
      }
      quarantine_queue_depth = {
        description = "Records wait in the quarantine queue ${coalesce(local.quarantine_queue_name, "(existing)")}: inspect and redrive them."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        statistic   = "Maximum"
        dimensions  = { QueueName = local.quarantine_queue_name }
        threshold   = var.quarantine_queue_alarm_threshold
      }
      records_quarantined = {
        description = "The handler quarantined records it could not process (payloads are in the quarantine queue, or claim checks in the bucket)."
        namespace   = var.metrics_namespace
        metric_name = "RecordsQuarantined"
        statistic   = "Sum"
        dimensions  = local.function_dimensions
        threshold   = var.quarantined_records_alarm_threshold
      }
    },
    local.mapping_event_counts && local.source_is_stream ? {
      records_to_failure_destination = {
        description = "The mapping gave up on records (retries or record age exhausted) and sent them to the ${local.destination_kind} failure destination: inspect and redrive them."
        namespace   = "AWS/Lambda"
        metric_name = "OnFailureDestinationDeliveredEventCount"
        statistic   = "Sum"
        dimensions  = local.mapping_dimensions
        threshold   = var.failure_destination_alarm_threshold
      }
      records_dropped = {
        description = "The mapping dropped records: delivery to the failure destination failed, so they are kept nowhere but the stream until its retention ends. Check the destination and the role."
        namespace   = "AWS/Lambda"
        metric_name = "DroppedEventCount"
        statistic   = "Sum"
        dimensions  = local.mapping_dimensions
        threshold   = var.dropped_records_alarm_threshold
      }
    } : {},
  ) : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description = each.value.description

  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  # No data means no traffic, errors or quarantined records: not a problem.
  treat_missing_data = "notBreaching"

  alarm_actions = var.alarm_actions
  ok_actions    = var.ok_actions

  tags = var.tags
}

locals {
  # The dashboard's region is the function's, read from its ARN
  # (arn:<partition>:lambda:<region>:<account>:function:<name>).
  dashboard_region = split(":", aws_lambda_function.this.arn)[3]

  function_name = aws_lambda_function.this.function_name

  dashboard_widgets = concat(
    var.create_alarms ? [{
      type   = "alarm"
      width  = 24
      height = 3
      properties = {
        title  = "Alarms"
        alarms = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn]
      }
    }] : [],
    [
      local.source_is_stream ? {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Iterator age (ms): how far behind the stream the function is"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/Lambda", "IteratorAge", "FunctionName", local.function_name]]
          annotations = {
            horizontal = [{ label = "alarm threshold", value = var.iterator_age_alarm_threshold_ms }]
          }
        }
        } : {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Source queue: age of the oldest message (s)"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.source_queue_name]]
          annotations = {
            horizontal = [{ label = "alarm threshold", value = var.source_queue_age_alarm_threshold_seconds }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Records: processed, retried, quarantined"
          region = local.dashboard_region
          view   = "timeSeries"
          stat   = "Sum"
          period = 60
          metrics = [
            [var.metrics_namespace, "RecordsProcessed", "FunctionName", local.function_name],
            [var.metrics_namespace, "RecordsRetried", "FunctionName", local.function_name],
            [var.metrics_namespace, "RecordsQuarantined", "FunctionName", local.function_name],
          ]
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Function: invocations, errors, throttles"
          region = local.dashboard_region
          view   = "timeSeries"
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.function_name],
            ["AWS/Lambda", "Errors", "FunctionName", local.function_name],
            ["AWS/Lambda", "Throttles", "FunctionName", local.function_name],
          ]
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Quarantine queue: messages waiting"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.quarantine_queue_name]]
          annotations = {
            horizontal = [{ label = "alarm threshold", value = var.quarantine_queue_alarm_threshold }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Batch duration (ms): handler and function"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 60
          metrics = [
            [var.metrics_namespace, "BatchDuration", "FunctionName", local.function_name, { stat = "p99", label = "handler p99" }],
            ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "Maximum", label = "function maximum" }],
          ]
          annotations = {
            horizontal = [{ label = "timeout", value = var.timeout * 1000 }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Concurrent executions"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.function_name]]
        }
      },
    ],
    local.mapping_event_counts && local.source_is_stream ? [{
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title  = "Records given up on: sent to the failure destination, dropped"
        region = local.dashboard_region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/Lambda", "OnFailureDestinationDeliveredEventCount", "EventSourceMappingUUID", aws_lambda_event_source_mapping.this.uuid],
          ["AWS/Lambda", "DroppedEventCount", "EventSourceMappingUUID", aws_lambda_event_source_mapping.this.uuid],
        ]
      }
    }] : [],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}

# --- Layer ---

locals {
  # shardsafe's layer goes first: Lambda applies layers in order, so one later in `layers` can
  # override a file it holds.
  shardsafe_layer_arn = var.create_layer ? aws_lambda_layer_version.this[0].arn : var.layer_arn
  function_layers     = var.create_layer || var.layer_arn != null ? concat([local.shardsafe_layer_arn], var.layers) : var.layers
}

# shardsafe and its runtime dependencies under python/ (`make layer`, `shardsafe package --layer`),
# so the function's own zip holds only the caller's code (`shardsafe package --thin`).
resource "aws_lambda_layer_version" "this" {
  count = var.create_layer ? 1 : 0

  layer_name               = coalesce(var.layer_name, "${var.name}-shardsafe")
  description              = "shardsafe and its runtime dependencies, for ${var.runtime} on ${var.architecture}"
  filename                 = var.layer_zip_path
  source_code_hash         = filebase64sha256(var.layer_zip_path)
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}
