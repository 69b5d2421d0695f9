# --- Event source mapping ---
# How Lambda reads the source: a failing batch of a stream is split until the bad record is alone,
# retried a finite number of times, then sent to the failure destination, so that one record never
# stalls its shard; a queue's failed messages go to its dead-letter queue.

locals {
  mapping = var.event_source_mapping

  # The stream-only arguments: their safe defaults for a stream, and null (not sent) for a queue.
  stream_settings = {
    starting_position              = coalesce(local.mapping.starting_position, "TRIM_HORIZON")
    parallelization_factor         = coalesce(local.mapping.parallelization_factor, 1)
    bisect_batch_on_function_error = coalesce(local.mapping.bisect_batch_on_function_error, true)
    maximum_retry_attempts         = coalesce(local.mapping.maximum_retry_attempts, 3)
    maximum_record_age_in_seconds  = coalesce(local.mapping.maximum_record_age_in_seconds, 21600)
    tumbling_window_in_seconds     = coalesce(local.mapping.tumbling_window_in_seconds, 0)
  }
  unbounded_retries = (
    local.source_is_stream && local.stream_settings.maximum_retry_attempts == -1 && local.stream_settings.maximum_record_age_in_seconds == -1
  )

  # Lambda reads the handler's batchItemFailures only when the mapping reports them; otherwise the
  # handler must retry in process, or the records it hands back would be lost.
  mapping_environment = {
    SHARDSAFE_REPORT_BATCH_ITEM_FAILURES = tostring(local.mapping.report_batch_item_failures)
  }
}

resource "aws_lambda_event_source_mapping" "this" {
  function_name    = local.function_qualified_arn
  event_source_arn = local.event_source_arn
  enabled          = local.mapping.enabled

  batch_size                         = coalesce(local.mapping.batch_size, local.source_is_stream ? 100 : 10)
  maximum_batching_window_in_seconds = local.mapping.maximum_batching_window_in_seconds
  starting_position                  = local.source_is_stream ? local.stream_settings.starting_position : null
  starting_position_timestamp        = local.mapping.starting_position_timestamp
  parallelization_factor             = local.source_is_stream ? local.stream_settings.parallelization_factor : null
  tumbling_window_in_seconds         = local.source_is_stream ? local.stream_settings.tumbling_window_in_seconds : null

  bisect_batch_on_function_error = local.source_is_stream ? local.stream_settings.bisect_batch_on_function_error : null
  maximum_retry_attempts         = local.source_is_stream ? local.stream_settings.maximum_retry_attempts : null
  maximum_record_age_in_seconds  = local.source_is_stream ? local.stream_settings.maximum_record_age_in_seconds : null
  function_response_types        = local.mapping.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  # Streams only: a queue's failed messages go to its dead-letter queue.
  dynamic "destination_config" {
    for_each = local.source_is_stream ? [local.failure_destination_arn] : []

    content {
      on_failure {
        destination_arn = destination_config.value
      }
    }
  }

  # SQS only: at most this many invocations at once.
  dynamic "scaling_config" {
    for_each = local.mapping.maximum_concurrency != null ? [local.mapping.maximum_concurrency] : []

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  # SQS only: provisioned mode, a floor and a ceiling of event pollers
  # (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventsourcemapping.html#invocation-eventsourcemapping-provisioned-mode).
  dynamic "provisioned_poller_config" {
    for_each = local.mapping.provisioned_pollers != null ? [local.mapping.provisioned_pollers] : []

    content {
      minimum_pollers = provisioned_poller_config.value.minimum
      maximum_pollers = provisioned_poller_config.value.maximum
    }
  }

  # EventCount: records sent to the destination, and records dropped (delivery failed).
  dynamic "metrics_config" {
    for_each = length(local.mapping.metrics) > 0 ? [local.mapping.metrics] : []

    content {
      metrics = metrics_config.value
    }
  }

  dynamic "filter_criteria" {
    for_each = length(local.mapping.filter_patterns) > 0 ? [local.mapping.filter_patterns] : []

    content {
      dynamic "filter" {
        for_each = toset(filter_criteria.value)

        content {
          pattern = filter.value
        }
      }
    }
  }

  # Encrypts the filter patterns at rest.
  kms_key_arn = local.mapping.kms_key_arn

  tags = var.tags

  lifecycle {
    # A stream of another account or region cannot be looked up (source.tf): its retention must be given.
    precondition {
      condition     = local.kinesis_existing_arn == null || local.stream_retention_hours != null
      error_message = "event_source.retention_hours is required for the stream ${coalesce(local.kinesis_existing_arn, "?")}: it is not in this configuration's account and region (${try(data.aws_caller_identity.current[0].account_id, "?")}, ${local.region}), where the module would look it up by name and read another stream, or none. Pass the stream's retention in hours (24..8760), so that the record age can be checked against it."
    }

    # Records the mapping gives up on must still be in the stream when someone reads them back.
    precondition {
      condition = (
        !local.source_is_stream || local.stream_retention_hours == null ||
        local.stream_settings.maximum_record_age_in_seconds == -1 ||
        try(local.stream_settings.maximum_record_age_in_seconds < local.stream_retention_hours * 3600, true)
      )
      error_message = "event_source_mapping.maximum_record_age_in_seconds (${local.stream_settings.maximum_record_age_in_seconds} s) must be shorter than the retention of the stream ${coalesce(local.stream_name, "?")} (${coalesce(local.stream_retention_hours, -1)} h), so that records the mapping gives up on can still be read from it: lower the record age, or raise the stream's retention."
    }
  }

  # Lambda checks at creation that the role can read the source and write to the destination; no
  # record reaches the failure bucket before its protections are in place.
  depends_on = [
    aws_iam_role_policy.this,
    aws_s3_bucket_ownership_controls.failures,
    aws_s3_bucket_policy.failures,
    aws_s3_bucket_public_access_block.failures,
    aws_s3_bucket_server_side_encryption_configuration.failures,
  ]
}

# Retrying forever is acknowledged (event_source_mapping.acknowledge_unbounded_retries); without
# bisect it is also a record that can hold its whole shard back for the stream's retention.
check "unbounded_retries_without_bisect" {
  assert {
    condition     = !local.unbounded_retries || local.stream_settings.bisect_batch_on_function_error
    error_message = "event_source_mapping retries a failing batch forever (maximum_retry_attempts = -1, maximum_record_age_in_seconds = -1) without bisect: one bad record stops its shard for as long as the stream keeps it (up to ${coalesce(local.stream_retention_hours, 8760)} h), and every record behind it waits. Turn bisect_batch_on_function_error on, or bound the retries or the record age."
  }
}

# An existing stream may hold records older than the record age: starting at TRIM_HORIZON (the
# default), the mapping sends them to the failure destination at once, unprocessed. Choosing the
# starting position explicitly says that this is known.
check "existing_stream_backlog_older_than_the_record_age" {
  assert {
    # Terraform's || evaluates both sides: the comparison is made only where the retention is known.
    condition = (
      local.kinesis_existing_arn == null || local.mapping.starting_position != null || local.stream_settings.maximum_record_age_in_seconds == -1 ? true :
      local.stream_retention_hours == null ? true : local.stream_settings.maximum_record_age_in_seconds >= local.stream_retention_hours * 3600
    )
    error_message = "The mapping starts at TRIM_HORIZON (the default) of the existing stream ${coalesce(local.stream_name, "?")}, which keeps records ${coalesce(local.stream_retention_hours, -1)} h, with a record age of ${local.stream_settings.maximum_record_age_in_seconds} s: records already older than that go straight to the failure destination, unprocessed. Set event_source_mapping.starting_position (LATEST or AT_TIMESTAMP to skip the backlog, TRIM_HORIZON to accept this), or raise maximum_record_age_in_seconds."
  }
}
