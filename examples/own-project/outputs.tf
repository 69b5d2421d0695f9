output "stream_name" {
  description = "Name of the Kinesis stream: put records here."
  value       = module.pipeline.stream_name
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.pipeline.function_name
}

output "layer_arn" {
  description = "Version ARN of the shardsafe layer the function uses, or null when shardsafe is in its zip."
  value       = module.pipeline.layer_arn
}

output "output_bucket_name" {
  description = "Name of the bucket the handler writes processed records to."
  value       = aws_s3_bucket.output.id
}

output "quarantine_queue_url" {
  description = "URL of the quarantine queue: one message per record that could not be processed."
  value       = module.pipeline.quarantine_queue_url
}

output "failure_bucket_name" {
  description = "Name of the failure bucket: batches the mapping gave up on, and claim checks."
  value       = module.pipeline.failure_bucket_name
}
