output "tasks_queue_url" {
  description = "The tasks queue: jobs.producer puts a job's tasks here."
  value       = module.workers.source_queue_url
}

output "jobs_bucket_name" {
  description = "The bucket of the jobs' manifests and ledger entries."
  value       = aws_s3_bucket.jobs.id
}

output "quarantine_queue_url" {
  description = "Tasks the workers could not run (invalid, or failing for good), payload byte for byte."
  value       = module.workers.quarantine_queue_url
}

output "idempotency_table_name" {
  description = "The table where the workers claim and complete task ids (SHARDSAFE_IDEMPOTENCY_TABLE)."
  value       = module.workers.idempotency_table_name
}

output "function_name" {
  description = "The worker function."
  value       = module.workers.function_name
}

output "tasks_dead_letter_queue_url" {
  description = "Tasks whose batch failed max_receive_count times."
  value       = module.workers.source_dead_letter_queue_url
}
