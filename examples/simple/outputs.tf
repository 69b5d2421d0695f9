output "stream_name" {
  description = "Put records on this stream."
  value       = module.pipeline.stream_name
}

output "function_name" {
  description = "The function that processes them."
  value       = module.pipeline.function_name
}

output "failure_queue_url" {
  description = "Records the pipeline gave up on or quarantined land here."
  value       = module.pipeline.failure_queue_url
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the pipeline."
  value       = module.pipeline.dashboard_name
}
