# --- Quarantine ---
# Where the handler sends the records it cannot process: an SQS queue, or an SNS topic with an SQS
# queue subscribed as the durable store (a topic keeps nothing); the claim-check store for records
# too big for a message; what the role needs for both; and what the function is told.

locals {
  quarantine_kind   = var.quarantine.kind
  create_quarantine = var.quarantine.create != null ? var.quarantine.create : var.quarantine.arn == null

  # The queue that keeps envelopes: kind sqs's (created or existing), or the store the module
  # subscribes to the topic it creates. An existing topic's subscribers are the caller's.
  create_quarantine_queue = local.create_quarantine
  create_quarantine_topic = local.quarantine_kind == "sns" && local.create_quarantine

  quarantine_queue_arn = local.create_quarantine_queue ? aws_sqs_queue.quarantine[0].arn : (local.quarantine_kind == "sqs" ? var.quarantine.arn : null)
  quarantine_queue_url = local.create_quarantine_queue ? aws_sqs_queue.quarantine[0].url : (local.quarantine_kind == "sqs" ? var.quarantine.url : null)
  quarantine_queue_name = (
    local.create_quarantine_queue ? aws_sqs_queue.quarantine[0].name
    : local.quarantine_kind == "sqs" ? try(split(":", var.quarantine.arn)[5], null) : null
  )

  quarantine_topic_arn = local.quarantine_kind != "sns" ? null : (local.create_quarantine_topic ? aws_sns_topic.quarantine[0].arn : var.quarantine.arn)
  quarantine_topic_name = (
    local.quarantine_kind != "sns" ? null
    : local.create_quarantine_topic ? aws_sns_topic.quarantine[0].name : try(split(":", var.quarantine.arn)[5], null)
  )

  quarantine_kms_key_arn = var.quarantine.kms_key_arn

  # The handler sends to the queue's URL or publishes to the topic; an envelope larger than the
  # limit is written as a claim check under the prefix (when there is a claim-check bucket).
  quarantine_environment = merge(
    {
      SHARDSAFE_QUARANTINE_SINK              = local.quarantine_kind
      SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES = tostring(var.quarantine.max_message_size)
    },
    local.quarantine_kind == "sqs" ? { SHARDSAFE_QUARANTINE_QUEUE_URL = local.quarantine_queue_url } : {},
    local.quarantine_kind == "sns" ? { SHARDSAFE_QUARANTINE_TOPIC_ARN = local.quarantine_topic_arn } : {},
  )

  # The handler sends with SendMessageBatch, authorized as sqs:SendMessage
  # (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html),
  # or publishes with PublishBatch, authorized as sns:Publish ("Grants permission to both publish
  # and publish batch", https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html).
  # With a customer key, SQS and SNS both need kms:GenerateDataKey and kms:Decrypt from the sender.
  quarantine_policy_statements = merge(
    local.quarantine_kind == "sqs" ? {
      QuarantineQueueSend = {
        actions    = ["sqs:SendMessage"]
        resources  = [local.quarantine_queue_arn]
        conditions = []
      }
    } : {},
    local.quarantine_kind == "sqs" && local.quarantine_kms_key_arn != null ? {
      QuarantineQueueKeyUse = {
        actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
        resources  = [local.quarantine_kms_key_arn]
        conditions = [local.kms_via.sqs[local.quarantine_kms_key_arn]]
      }
    } : {},
    local.quarantine_kind == "sns" ? {
      QuarantineTopicPublish = {
        actions    = ["sns:Publish"]
        resources  = [local.quarantine_topic_arn]
        conditions = []
      }
    } : {},
    local.quarantine_kind == "sns" && local.quarantine_kms_key_arn != null ? {
      QuarantineTopicKeyUse = {
        actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
        resources  = [local.quarantine_kms_key_arn]
        conditions = [local.kms_via.sns[local.quarantine_kms_key_arn]]
      }
    } : {},
  )

  # The store queue takes what the topic delivers, from that topic only.
  quarantine_queue_policy_json = local.create_quarantine_topic ? jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "QuarantineTopicDelivers"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.quarantine[0].arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.quarantine[0].arn } }
    }]
  }) : null
}

# The queue was the failure queue (destination and quarantine in one) before the failure bucket.
moved {
  from = aws_sqs_queue.on_failure
  to   = aws_sqs_queue.quarantine
}

resource "aws_sqs_queue" "quarantine" {
  count = local.create_quarantine_queue ? 1 : 0

  # The name it had as failure queue: renaming a queue replaces it, with its messages.
  name                      = "${var.name}-failures"
  message_retention_seconds = coalesce(var.quarantine.message_retention_seconds, 1209600)
  max_message_size          = var.quarantine.max_message_size
  # Long enough for a redrive function with this function's timeout to work a message
  # (AWS advises six times the timeout), within the SQS maximum of 12 hours.
  visibility_timeout_seconds = min(max(6 * var.timeout, 30), 43200)

  redrive_policy = var.quarantine.dead_letter == null ? null : jsonencode({
    deadLetterTargetArn = aws_sqs_queue.quarantine_dead_letter[0].arn
    maxReceiveCount     = var.quarantine.dead_letter.max_receive_count
  })

  sqs_managed_sse_enabled           = local.quarantine_kms_key_arn == null ? true : null
  kms_master_key_id                 = local.quarantine_kms_key_arn
  kms_data_key_reuse_period_seconds = local.quarantine_kms_key_arn == null ? null : 300

  tags = var.tags
}

# A quarantined record whose message is received dead_letter.max_receive_count times (a consumer of
# the quarantine queue that keeps failing on it) moves here instead of being received forever.
resource "aws_sqs_queue" "quarantine_dead_letter" {
  count = local.create_quarantine_queue && var.quarantine.dead_letter != null ? 1 : 0

  name                      = "${var.name}-failures-dlq"
  message_retention_seconds = var.quarantine.dead_letter.retention_seconds

  sqs_managed_sse_enabled           = local.quarantine_kms_key_arn == null ? true : null
  kms_master_key_id                 = local.quarantine_kms_key_arn
  kms_data_key_reuse_period_seconds = local.quarantine_kms_key_arn == null ? null : 300

  tags = var.tags
}

resource "aws_sns_topic" "quarantine" {
  count = local.create_quarantine_topic ? 1 : 0

  name = "${var.name}-quarantine"
  # Encrypted at rest: with the customer key, or SNS's AWS managed key.
  kms_master_key_id = coalesce(local.quarantine_kms_key_arn, "alias/aws/sns")

  tags = var.tags
}

# Raw delivery: the queue's message body is the envelope the handler published, as an SQS sink
# would have sent it, so that redrive reads both kinds alike.
resource "aws_sns_topic_subscription" "quarantine" {
  count = local.create_quarantine_topic ? 1 : 0

  topic_arn            = aws_sns_topic.quarantine[0].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.quarantine[0].arn
  raw_message_delivery = true

  # The queue must accept the topic's messages before the first one is published.
  depends_on = [aws_sqs_queue_policy.quarantine]
}

resource "aws_sqs_queue_policy" "quarantine" {
  count = local.create_quarantine_topic ? 1 : 0

  queue_url = aws_sqs_queue.quarantine[0].url
  policy    = local.quarantine_queue_policy_json
}

# --- Quarantine: claim checks ---

locals {
  # Claim checks (records too big for the quarantine) go to the failure bucket when the destination
  # is S3, or to claim_check.bucket_arn; without either there is no claim check.
  claim_check_enabled = var.claim_check.bucket_arn != null || local.destination_kind == "s3"
  claim_check_bucket_arn = (
    var.claim_check.bucket_arn != null ? var.claim_check.bucket_arn
    : local.destination_kind == "s3" ? local.failure_bucket_arn : null
  )
  claim_check_bucket_name = (
    var.claim_check.bucket_arn != null ? try(split(":::", var.claim_check.bucket_arn)[1], null)
    : local.destination_kind == "s3" ? local.failure_bucket_name : null
  )
  # The failure bucket's key is granted with the destination's statements, which a queue source has none of.
  claim_check_kms_key_arn = (
    var.claim_check.kms_key_arn != null ? var.claim_check.kms_key_arn
    : !local.source_is_stream && local.create_failure_bucket ? var.failure_destination.kms_key_arn : null
  )

  claim_check_environment = local.claim_check_enabled ? {
    SHARDSAFE_CLAIM_CHECK_BUCKET = local.claim_check_bucket_name
    SHARDSAFE_CLAIM_CHECK_PREFIX = var.claim_check.prefix
  } : {}

  # The handler writes claim checks under their prefix, and nowhere else in the bucket.
  claim_check_statements = merge(
    local.claim_check_enabled ? {
      ClaimCheckWrite = {
        actions    = ["s3:PutObject"]
        resources  = ["${local.claim_check_bucket_arn}/${var.claim_check.prefix}*"]
        conditions = [local.own_account_buckets_only]
      }
    } : {},
    local.claim_check_kms_key_arn != null ? {
      ClaimCheckKeyUse = {
        actions    = ["kms:GenerateDataKey"]
        resources  = [local.claim_check_kms_key_arn]
        conditions = [local.kms_via.s3[local.claim_check_kms_key_arn]]
      }
    } : {},
  )
}
