output "table_name" {
  description = "Write items to this table; its changes reach the function."
  value       = aws_dynamodb_table.this.name
}

output "region" {
  description = "The region the table is in (for the AWS CLI)."
  value       = split(":", aws_dynamodb_table.this.arn)[3]
}

output "output_bucket_name" {
  description = "Each processed change lands here, as processed/<table>/<sequenceNumber>.json."
  value       = aws_s3_bucket.output.id
}

output "stream_arn" {
  description = "The table's stream, the function's source."
  value       = aws_dynamodb_table.this.stream_arn
}

output "function_name" {
  description = "The function that processes the changes."
  value       = module.pipeline.function_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the stream to the function."
  value       = module.pipeline.event_source_mapping_uuid
}

output "failure_bucket_name" {
  description = "Batches the mapping gave up on land here, records included."
  value       = module.pipeline.failure_bucket_name
}

output "quarantine_queue_url" {
  description = "Records the handler quarantined land here."
  value       = module.pipeline.quarantine_queue_url
}
