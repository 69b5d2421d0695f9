output "stream_name" {
  description = "Put records here: `shardsafe produce --stream ...`."
  value       = module.pipeline.stream_name
}

output "function_name" {
  description = "The function that aggregates each window."
  value       = module.pipeline.function_name
}

output "output_bucket_name" {
  description = "Each window's counts land here, as windows/<shardId>/<window start>.json."
  value       = aws_s3_bucket.output.id
}

output "quarantine_queue_url" {
  description = "Records the function quarantined land here."
  value       = module.pipeline.quarantine_queue_url
}

output "failure_bucket_name" {
  description = "Batches the mapping gave up on land here, records included."
  value       = module.pipeline.failure_bucket_name
}
