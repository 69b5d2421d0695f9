# Drain an SQS queue without overloading what the function writes to: the module creates the
# source queue (visibility timeout six times the function's, a dead-letter queue after
# max_receive_count receives), the function reads it in batches with at most maximum_concurrency
# invocations at once, and the handler quarantines the records it cannot process.

provider "aws" {
  region = var.region
}

module "pipeline" {
  source = "../../"

  name              = var.name
  function_zip_path = var.function_zip_path
  alarm_actions     = var.alarm_actions
  handler           = var.handler
  timeout           = var.timeout

  event_source = {
    kind = "sqs"
    queue = {
      max_receive_count = var.max_receive_count
    }
  }

  event_source_mapping = {
    batch_size                         = var.batch_size
    maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
    maximum_concurrency                = var.maximum_concurrency
  }

  # With a queue source the module's bucket keeps claim checks only (records too big for the
  # quarantine queue); force_destroy lets a test or demo destroy it with them.
  failure_destination = {
    force_destroy = var.force_destroy
  }

  environment_variables  = var.environment_variables
  role_policy_statements = var.role_policy_statements
  tracing_mode           = var.tracing_mode
}
