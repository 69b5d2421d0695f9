# --- Source ---

output "source_kind" {
  description = "Kind of source the function consumes: kinesis, dynamodb or sqs."
  value       = local.source_kind
}

output "source_arn" {
  description = "ARN the event source mapping reads: the Kinesis stream (or its enhanced fan-out consumer), the DynamoDB stream or the SQS queue."
  value       = local.event_source_arn
}

output "source_queue_arn" {
  description = "ARN of the SQS source queue (created or existing), or null for a stream source."
  value       = local.source_queue_arn
}

output "source_queue_url" {
  description = "URL of the SQS source queue the module created, or null (an existing queue's URL is yours)."
  value       = try(aws_sqs_queue.source[0].url, null)
}

output "source_queue_name" {
  description = "Name of the SQS source queue (created or existing), or null for a stream source."
  value       = local.source_queue_name
}

output "source_dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue of the source queue the module created, or null."
  value       = try(aws_sqs_queue.source_dead_letter[0].arn, null)
}

output "source_dead_letter_queue_url" {
  description = "URL of the dead-letter queue of the source queue the module created, or null."
  value       = try(aws_sqs_queue.source_dead_letter[0].url, null)
}

output "stream_name" {
  description = "Name of the Kinesis data stream the function reads (created or existing), or null for another kind of source."
  value       = local.stream_name
}

output "stream_arn" {
  description = "ARN of the Kinesis data stream the function reads (created or existing), or null for another kind of source."
  value       = local.stream_arn
}

output "stream_consumer_arn" {
  description = "ARN of the enhanced fan-out consumer the mapping reads through, or null without one."
  value       = try(aws_kinesis_stream_consumer.this[0].arn, null)
}

# --- Function ---

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "function_version" {
  description = "Version this apply published (publish = true), or $LATEST."
  value       = aws_lambda_function.this.version
}

output "function_qualifier" {
  description = "What the event source mapping invokes: the alias name, or $LATEST without an alias. Use it with aws lambda invoke --qualifier and in Lambda's per-alias metrics."
  value       = var.alias != null ? var.alias.name : "$LATEST"
}

output "function_qualified_arn" {
  description = "ARN the event source mapping invokes: the alias's ARN, or the function's without an alias."
  value       = local.function_qualified_arn
}

output "alias_name" {
  description = "Name of the function's alias, or null without one."
  value       = try(aws_lambda_alias.this[0].name, null)
}

output "alias_arn" {
  description = "ARN of the function's alias, or null without one."
  value       = try(aws_lambda_alias.this[0].arn, null)
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.this.arn
}

# --- IAM ---

output "role_arn" {
  description = "ARN of the function's execution role (created or existing)."
  value       = local.role_arn
}

output "role_name" {
  description = "Name of the execution role the module created, or null when role_arn was passed."
  value       = try(aws_iam_role.this[0].name, null)
}

output "role_policy_json" {
  description = "The least-privilege policy the function needs (plus role_policy_statements). Attached to the created role; attach it yourself when you pass role_arn."
  value       = local.role_policy_json
}

# --- Event source mapping ---

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping (aws lambda get-event-source-mapping --uuid ...)."
  value       = aws_lambda_event_source_mapping.this.uuid
}

output "event_source_mapping_arn" {
  description = "ARN of the event source mapping."
  value       = aws_lambda_event_source_mapping.this.arn
}

# --- Failure destination ---

output "failure_destination_kind" {
  description = "Kind of the mapping's on-failure destination: s3, sqs or sns."
  value       = local.destination_kind
}

output "failure_destination_arn" {
  description = "ARN of the mapping's on-failure destination: the failure bucket, a queue (the quarantine queue with kind sqs and no arn) or a topic."
  value       = local.failure_destination_arn
}

output "failure_bucket_name" {
  description = "Name of the failure bucket (created or existing) that keeps the batches the mapping gave up on, under aws/lambda/<mapping UUID>/; null unless the destination is S3."
  value       = local.failure_bucket_name
}

output "failure_bucket_arn" {
  description = "ARN of the failure bucket (created or existing); null unless the destination is S3."
  value       = local.failure_bucket_arn
}

# --- Quarantine ---

output "quarantine_kind" {
  description = "Kind of quarantine sink the handler uses (SHARDSAFE_QUARANTINE_SINK): sqs or sns."
  value       = local.quarantine_kind
}

output "quarantine_queue_url" {
  description = "URL of the queue that keeps quarantined records: the quarantine queue (sqs, created or existing), or the store queue subscribed to the topic the module created (sns); null for an existing topic. Redrive reads it."
  value       = local.quarantine_queue_url
}

output "quarantine_queue_arn" {
  description = "ARN of the queue that keeps quarantined records (see quarantine_queue_url), or null."
  value       = local.quarantine_queue_arn
}

output "quarantine_queue_name" {
  description = "Name of the queue that keeps quarantined records (see quarantine_queue_url), or null."
  value       = local.quarantine_queue_name
}

output "quarantine_topic_arn" {
  description = "ARN of the SNS topic the handler publishes quarantined records to (SHARDSAFE_QUARANTINE_TOPIC_ARN), created or existing; null with kind sqs."
  value       = local.quarantine_topic_arn
}

output "quarantine_topic_name" {
  description = "Name of the quarantine topic, or null with kind sqs."
  value       = local.quarantine_topic_name
}

output "quarantine_dead_letter_queue_arn" {
  description = "ARN of the quarantine queue's dead-letter queue (quarantine.dead_letter), or null."
  value       = try(aws_sqs_queue.quarantine_dead_letter[0].arn, null)
}

output "quarantine_dead_letter_queue_url" {
  description = "URL of the quarantine queue's dead-letter queue (quarantine.dead_letter), or null."
  value       = try(aws_sqs_queue.quarantine_dead_letter[0].url, null)
}

output "claim_check_bucket_name" {
  description = "Name of the bucket the handler writes claim checks to (SHARDSAFE_CLAIM_CHECK_BUCKET), or null without claim checks."
  value       = local.claim_check_bucket_name
}

output "claim_check_prefix" {
  description = "Key prefix of the claim-check objects (SHARDSAFE_CLAIM_CHECK_PREFIX), or null without claim checks."
  value       = local.claim_check_enabled ? var.claim_check.prefix : null
}

# --- Idempotency table ---

output "idempotency_table_name" {
  description = "Name of the idempotency table (SHARDSAFE_IDEMPOTENCY_TABLE), created or existing, or null without one."
  value       = local.idempotency_table_name
}

output "idempotency_table_arn" {
  description = "ARN of the idempotency table, created or existing, or null without one."
  value       = local.idempotency_table_arn
}

# --- Large-message payloads ---

output "large_message_bucket_names" {
  description = "Names of the buckets the handler may read extended-client payloads from (SHARDSAFE_LARGE_MESSAGE_BUCKETS); empty without any."
  value       = local.large_message_bucket_names
}

# --- Alarms ---

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms by key (iterator_age or source_queue_age, errors, throttles, duration, records_quarantined, quarantine_queue_depth, and as configured dead_letter_queue_depth, quarantine_topic_failed_deliveries, quarantine_dead_letter_queue_depth, records_to_failure_destination, records_dropped); empty when create_alarms is false."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

# --- Dashboard ---

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, or null when create_dashboard is false."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

# --- Layer ---

output "layer_arn" {
  description = "Version ARN of the shardsafe layer the function uses: the one create_layer published, or layer_arn; null without one."
  value       = var.create_layer ? try(aws_lambda_layer_version.this[0].arn, null) : var.layer_arn
}
