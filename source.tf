# --- Source ---
# What the function reads: a Kinesis stream (created or existing), a DynamoDB table's stream, or an
# SQS queue (created with a dead-letter queue, or existing), and the role's permission to read it.

locals {
  source_kind = var.event_source.kind
  # Kinesis and DynamoDB streams share a mapping's stream arguments and failure handling; a queue has neither.
  source_is_stream = local.source_kind != "sqs"

  # Whether to create the stream or queue is decided from known values only (event_source.create,
  # whether an arn was given), never from an arn a resource will compute, so that count is known
  # at plan time.
  create_source = (
    local.source_kind == "dynamodb" ? false
    : var.event_source.create != null ? var.event_source.create
    : var.event_source.arn == null
  )
  create_stream        = local.source_kind == "kinesis" && local.create_source
  kinesis_existing_arn = local.source_kind == "kinesis" && !local.create_stream ? var.event_source.arn : null

  stream_arn  = local.create_stream ? aws_kinesis_stream.this[0].arn : local.kinesis_existing_arn
  stream_name = local.create_stream ? aws_kinesis_stream.this[0].name : try(split("/", local.kinesis_existing_arn)[1], null)

  create_source_queue = local.source_kind == "sqs" && local.create_source
  source_queue_arn    = local.create_source_queue ? aws_sqs_queue.source[0].arn : (local.source_kind == "sqs" ? var.event_source.arn : null)
  source_queue_name   = local.create_source_queue ? aws_sqs_queue.source[0].name : (local.source_kind == "sqs" ? split(":", var.event_source.arn)[5] : null)

  dynamodb_stream_arn = local.source_kind == "dynamodb" ? var.event_source.arn : null

  # What the mapping reads: the stream (or with enhanced fan-out its consumer), or the queue.
  event_source_arn = (
    local.source_kind == "kinesis" ? (var.create_stream_consumer ? aws_kinesis_stream_consumer.this[0].arn : local.stream_arn)
    : local.source_kind == "dynamodb" ? local.dynamodb_stream_arn
    : local.source_queue_arn
  )

  # The key the function must decrypt records with: the customer key of the Kinesis stream (created
  # or existing), or the source's key. AWS managed keys need no grant: their key policies admit
  # every principal of the account that calls through the service.
  source_kms_key_arn = local.source_kind == "kinesis" ? var.stream_kms_key_arn : var.event_source.kms_key_arn

  # What Lambda needs to read each kind of source, as AWS documents it, scoped to the source:
  # - Kinesis (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html, execution role
  #   permissions): kinesis:DescribeStream, DescribeStreamSummary, GetRecords, GetShardIterator,
  #   ListShards; for enhanced fan-out SubscribeToShard (and DescribeStreamConsumer) on the consumer.
  # - DynamoDB Streams (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, execution role
  #   permissions): dynamodb:DescribeStream, GetRecords, GetShardIterator.
  # - SQS (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, execution role permissions):
  #   sqs:ReceiveMessage, DeleteMessage, GetQueueAttributes.
  # - an encrypted source: kms:Decrypt on its customer key, through the source's service.
  # kinesis:ListStreams and dynamodb:ListStreams, which AWS's managed policies also list, authorize
  # only on Resource "*" (Service Authorization Reference) and the mapping, given the stream's ARN,
  # does not call them; they are left out rather than granted on "*".
  source_policy_statements = merge(
    local.source_kind == "kinesis" ? {
      KinesisStreamRead = {
        actions    = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
        resources  = [local.stream_arn]
        conditions = []
      }
    } : {},
    local.source_kind == "kinesis" && var.create_stream_consumer ? {
      KinesisConsumerRead = {
        actions    = ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"]
        resources  = [aws_kinesis_stream_consumer.this[0].arn]
        conditions = []
      }
    } : {},
    local.source_kind == "dynamodb" ? {
      DynamoDBStreamRead = {
        actions    = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
        resources  = [local.dynamodb_stream_arn]
        conditions = []
      }
    } : {},
    local.source_kind == "sqs" ? {
      SourceQueueConsume = {
        actions    = ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
        resources  = [local.source_queue_arn]
        conditions = []
      }
    } : {},
    local.source_kms_key_arn != null ? {
      (local.source_kind == "kinesis" ? "StreamKeyDecrypt" : "SourceKeyDecrypt") = {
        actions    = ["kms:Decrypt"]
        resources  = [local.source_kms_key_arn]
        conditions = [local.kms_via[local.source_kind][local.source_kms_key_arn]]
      }
    } : {},
  )
}

# --- Source: Kinesis stream ---

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

# An existing stream's retention, to check the mapping's record age against, is read from Kinesis
# only where that reads this stream: a lookup goes by name, in the provider's account and region,
# so a stream of another account or region would be another stream there, or none. Its retention is
# then event_source.retention_hours (the mapping's precondition refuses the plan without it), and
# retention_hours, when given, is used instead of a lookup for any existing stream.
locals {
  kinesis_existing_parts = local.kinesis_existing_arn == null ? [] : split(":", local.kinesis_existing_arn)
  look_up_stream         = local.kinesis_existing_arn != null && var.event_source.retention_hours == null
  stream_is_local = local.look_up_stream && try(
    local.kinesis_existing_parts[3] == local.region && local.kinesis_existing_parts[4] == data.aws_caller_identity.current[0].account_id,
    false,
  )
  # Hours a record stays in the stream the function reads; null when it is not known (DynamoDB
  # streams and queues, or a stream of another account or region without retention_hours).
  stream_retention_hours = (
    local.create_stream ? var.retention_period
    : var.event_source.retention_hours != null ? var.event_source.retention_hours
    : try(data.aws_kinesis_stream.existing[0].retention_period, null)
  )
}

data "aws_caller_identity" "current" {
  count = local.look_up_stream ? 1 : 0
}

data "aws_kinesis_stream" "existing" {
  count = local.stream_is_local ? 1 : 0

  name = local.stream_name
}

# --- Source: SQS queue ---

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
