output "stream_name" {
  description = "Put records on this stream."
  value       = module.pipeline.stream_name
}

output "function_name" {
  description = "The function that processes them."
  value       = module.pipeline.function_name
}

output "failure_bucket_name" {
  description = "Batches the pipeline gave up on land here, records included (and claim checks of oversized records)."
  value       = module.pipeline.failure_bucket_name
}

output "failure_queue_url" {
  description = "Records the handler quarantined land here (the quarantine queue)."
  value       = module.pipeline.quarantine_queue_url
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline."
  value       = module.pipeline.dashboard_name
}
