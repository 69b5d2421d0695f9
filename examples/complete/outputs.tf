output "region" {
  description = "Region the example is deployed to."
  value       = var.region
}

output "stream_name" {
  description = "Name of the Kinesis stream: put records here."
  value       = module.pipeline.stream_name
}

output "stream_arn" {
  description = "ARN of the Kinesis stream."
  value       = module.pipeline.stream_arn
}

output "stream_consumer_arn" {
  description = "ARN of the enhanced fan-out consumer, or null."
  value       = module.pipeline.stream_consumer_arn
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.pipeline.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = module.pipeline.function_arn
}

output "function_qualified_arn" {
  description = "ARN the mapping invokes: the function's alias."
  value       = module.pipeline.function_qualified_arn
}

output "function_version" {
  description = "Version this apply published, which the alias points at."
  value       = module.pipeline.function_version
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.pipeline.role_arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the event source mapping."
  value       = module.pipeline.event_source_mapping_uuid
}

output "failure_destination_kind" {
  description = "Kind of the mapping's on-failure destination: sqs or s3 (failure_destination_kind)."
  value       = module.pipeline.failure_destination_kind
}

output "failure_destination_arn" {
  description = "ARN of the mapping's on-failure destination: the quarantine queue (sqs) or the failure bucket (s3)."
  value       = module.pipeline.failure_destination_arn
}

output "failure_bucket_name" {
  description = "Name of the failure bucket (batches given up on, under aws/lambda/<mapping UUID>/; claim checks), or null with the sqs destination."
  value       = module.pipeline.failure_bucket_name
}

output "failure_bucket_arn" {
  description = "ARN of the failure bucket, or null with the sqs destination."
  value       = module.pipeline.failure_bucket_arn
}

output "claim_check_prefix" {
  description = "Key prefix of claim checks in the failure bucket, or null with the sqs destination."
  value       = module.pipeline.claim_check_prefix
}

output "quarantine_queue_url" {
  description = "URL of the quarantine queue (and, with the sqs destination, the on-failure destination)."
  value       = module.pipeline.quarantine_queue_url
}

output "failure_queue_url" {
  description = "Deprecated alias of quarantine_queue_url, read by the demo and end-to-end harness."
  value       = module.pipeline.quarantine_queue_url
}

output "failure_queue_arn" {
  description = "Deprecated alias of the quarantine queue's ARN, read by the end-to-end tests."
  value       = module.pipeline.quarantine_queue_arn
}

output "quarantine_dead_letter_queue_url" {
  description = "URL of the quarantine queue's dead-letter queue."
  value       = module.pipeline.quarantine_dead_letter_queue_url
}

output "idempotency_table_name" {
  description = "Name of the idempotency table (SHARDSAFE_IDEMPOTENCY_TABLE)."
  value       = module.pipeline.idempotency_table_name
}

output "output_bucket_name" {
  description = "Name of the S3 bucket the function writes processed records to."
  value       = aws_s3_bucket.output.id
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = module.pipeline.log_group_name
}

output "kms_key_arn" {
  description = "ARN of the example's KMS key."
  value       = aws_kms_key.this.arn
}

output "alarm_arns" {
  description = "ARNs of the alarms by key."
  value       = module.pipeline.alarm_arns
}

output "alarm_topic_arn" {
  description = "ARN of the SNS topic the alarms notify, or null."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, or null."
  value       = module.pipeline.dashboard_name
}
