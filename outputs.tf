# --- Stream ---

output "stream_name" {
  description = "Name of the Kinesis data stream the function reads (created or existing)."
  value       = local.stream_name
}

output "stream_arn" {
  description = "ARN of the Kinesis data stream the function reads (created or existing)."
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
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
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
  value       = data.aws_iam_policy_document.this.json
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

# --- Failure queue ---

output "failure_queue_url" {
  description = "URL of the failure queue: the mapping's on-failure destination and the handler's quarantine (created or existing)."
  value       = local.failure_queue_url
}

output "failure_queue_arn" {
  description = "ARN of the failure queue (created or existing)."
  value       = local.failure_queue_arn
}

output "failure_queue_name" {
  description = "Name of the failure queue (created or existing)."
  value       = local.failure_queue_name
}

# --- Alarms and dashboard ---

output "alarm_arns" {
  description = "ARNs of the CloudWatch alarms by key (iterator_age, errors, throttles, failure_queue_depth, records_quarantined); empty when create_alarms is false."
  value       = { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.arn }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard, or null when create_dashboard is false."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}
