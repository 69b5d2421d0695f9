output "source_queue_url" {
  description = "Send messages to this queue."
  value       = module.pipeline.source_queue_url
}

output "source_dead_letter_queue_url" {
  description = "Messages whose batch failed max_receive_count times land here."
  value       = module.pipeline.source_dead_letter_queue_url
}

output "quarantine_queue_url" {
  description = "Records the handler quarantined land here, payload byte for byte."
  value       = module.pipeline.quarantine_queue_url
}

output "function_name" {
  description = "The function that processes the messages."
  value       = module.pipeline.function_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the queue to the function."
  value       = module.pipeline.event_source_mapping_uuid
}

output "claim_check_bucket_name" {
  description = "Where the handler keeps records too big for the quarantine queue."
  value       = module.pipeline.claim_check_bucket_name
}
