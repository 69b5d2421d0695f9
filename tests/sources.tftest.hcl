# One variable, event_source, chooses what the function consumes: a Kinesis stream (created or
# existing), a DynamoDB stream, or an SQS queue (created with a dead-letter queue, or existing).
# Each source gets the mapping arguments, failure handling and alarms that fit it, and the
# arguments that do not fit it are refused.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name              = "orders"
  function_zip_path = "tests/fixtures/lambda-fixture.zip"
  # Alarms that notify someone: without, a check block warns (and fails a test run).
  alarm_actions = ["arn:aws:sns:eu-west-1:111122223333:oncall"]
}

# --- Kinesis ---

run "existing_kinesis_stream_is_named_by_event_source" {
  command = plan

  variables {
    event_source = {
      arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"
    }
    event_source_mapping = { starting_position = "TRIM_HORIZON" }
  }

  assert {
    condition     = length(aws_kinesis_stream.this) == 0 && aws_lambda_event_source_mapping.this.event_source_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"
    error_message = "event_source.arn of kind kinesis must be consumed as it is, without creating a stream."
  }

  assert {
    condition     = output.stream_name == "shared-events" && output.source_kind == "kinesis"
    error_message = "The stream's name must be read from its ARN."
  }
}

run "record_age_beyond_an_existing_streams_retention_is_refused" {
  command = plan

  variables {
    event_source = {
      arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"
    }
    event_source_mapping = {
      maximum_record_age_in_seconds = 172800
      starting_position             = "LATEST"
    }
  }

  override_data {
    target = data.aws_kinesis_stream.existing[0]
    values = {
      retention_period = 24
    }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "record_age_within_an_existing_streams_retention_is_accepted" {
  command = plan

  variables {
    event_source = {
      arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"
    }
    event_source_mapping = {
      maximum_record_age_in_seconds = 172800
      starting_position             = "LATEST"
    }
  }

  override_data {
    target = data.aws_kinesis_stream.existing[0]
    values = {
      retention_period = 168
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == 172800
    error_message = "A record age shorter than the existing stream's retention (7 days here) must be accepted."
  }
}

run "no_stream_is_read_back_for_a_created_stream" {
  command = plan

  assert {
    condition     = length(data.aws_kinesis_stream.existing) == 0
    error_message = "The created stream's retention is the module's own variable; only an existing stream is read."
  }
}

# --- DynamoDB ---

run "dynamodb_stream_is_read_like_a_kinesis_stream" {
  command = plan

  variables {
    event_source = {
      kind = "dynamodb"
      arn  = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-31T12:00:00.000"
    }
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this.event_source_arn == "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-31T12:00:00.000"
      && length(aws_kinesis_stream.this) == 0 && length(aws_sqs_queue.source) == 0 && length(data.aws_kinesis_stream.existing) == 0
    )
    error_message = "A DynamoDB stream is consumed by its ARN; no Kinesis stream or queue is created."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this.starting_position == "TRIM_HORIZON"
      && aws_lambda_event_source_mapping.this.bisect_batch_on_function_error == true
      && aws_lambda_event_source_mapping.this.maximum_retry_attempts == 3
      && aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == 21600
      && aws_lambda_event_source_mapping.this.batch_size == 100
      && aws_lambda_event_source_mapping.this.function_response_types == toset(["ReportBatchItemFailures"])
    )
    error_message = "A DynamoDB stream gets the stream defaults: TRIM_HORIZON, bisect, 3 retries, 6 h record age, batches of 100, partial batch responses."
  }

  assert {
    condition     = one(one(aws_lambda_event_source_mapping.this.destination_config).on_failure).destination_arn == aws_s3_bucket.failures[0].arn
    error_message = "A DynamoDB stream's given-up batches go to the failure destination, as a Kinesis stream's do."
  }

  assert {
    condition     = contains(keys(output.alarm_arns), "iterator_age") && contains(keys(output.alarm_arns), "records_to_failure_destination") && !contains(keys(output.alarm_arns), "source_queue_age")
    error_message = "A DynamoDB stream is watched by iterator age and the failure-destination count, not by queue alarms."
  }
}

# --- SQS ---

run "sqs_source_queue_is_created_with_a_dead_letter_queue" {
  command = plan

  variables {
    timeout = 20
    event_source = {
      kind = "sqs"
    }
  }

  assert {
    condition     = aws_sqs_queue.source[0].name == "orders-source" && aws_sqs_queue.source_dead_letter[0].name == "orders-source-dlq"
    error_message = "The module's source queue is <name>-source, its dead-letter queue <name>-source-dlq."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.source[0].redrive_policy) == { deadLetterTargetArn = aws_sqs_queue.source_dead_letter[0].arn, maxReceiveCount = 5 }
    error_message = "A message received 5 times (its batch failed each time) must move to the dead-letter queue, not be received until its retention ends."
  }

  assert {
    condition     = aws_sqs_queue.source[0].visibility_timeout_seconds == 120
    error_message = "The source queue's visibility timeout must be six times the function's timeout (AWS's advice): 6 x 20 = 120 s."
  }

  assert {
    condition     = aws_sqs_queue.source[0].sqs_managed_sse_enabled == true && aws_sqs_queue.source_dead_letter[0].sqs_managed_sse_enabled == true
    error_message = "Both queues must be encrypted at rest (SSE-SQS without a customer key)."
  }
}

run "sqs_mapping_has_queue_arguments_only" {
  command = plan

  variables {
    event_source = {
      kind = "sqs"
    }
    event_source_mapping = {
      maximum_concurrency = 4
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.event_source_arn == aws_sqs_queue.source[0].arn && aws_lambda_event_source_mapping.this.batch_size == 10
    error_message = "The mapping must read the source queue, 10 messages per batch by default (more needs a batching window)."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this.starting_position == null
      && aws_lambda_event_source_mapping.this.bisect_batch_on_function_error == null
      && length(aws_lambda_event_source_mapping.this.destination_config) == 0
    )
    error_message = "A queue mapping must send no stream-only argument and no on-failure destination (AWS rejects them for SQS). (Retries, record age and parallelization are computed attributes, which the mock fills in; the variable's validation refuses them.)"
  }

  assert {
    condition     = one(aws_lambda_event_source_mapping.this.scaling_config).maximum_concurrency == 4
    error_message = "maximum_concurrency must become the mapping's scaling_config."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "A queue mapping must report partial batch failures, so that only the failed messages are received again."
  }
}

run "sqs_source_is_watched_by_message_age_and_dead_letter_depth" {
  command = plan

  variables {
    event_source = {
      kind = "sqs"
    }
  }

  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["source_queue_age", "dead_letter_queue_depth", "errors", "throttles", "duration", "quarantine_queue_depth", "records_quarantined"])
    error_message = "A queue source is watched by the age of its oldest message and its dead-letter depth; iterator age and the failure-destination counts are stream metrics."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["source_queue_age"].metric_name == "ApproximateAgeOfOldestMessage"
      && aws_cloudwatch_metric_alarm.this["source_queue_age"].dimensions["QueueName"] == aws_sqs_queue.source[0].name
      && aws_cloudwatch_metric_alarm.this["source_queue_age"].threshold == 300
      && aws_cloudwatch_metric_alarm.this["dead_letter_queue_depth"].dimensions["QueueName"] == aws_sqs_queue.source_dead_letter[0].name
      && aws_cloudwatch_metric_alarm.this["dead_letter_queue_depth"].threshold == 0
    )
    error_message = "The queue alarms must watch the source queue's oldest message (over 300 s) and the dead-letter queue (any message)."
  }
}

run "existing_sqs_queue_is_consumed_without_creating_one" {
  command = plan

  variables {
    event_source = {
      kind = "sqs"
      arn  = "arn:aws:sqs:eu-west-1:111122223333:work-items"
    }
  }

  assert {
    condition     = length(aws_sqs_queue.source) == 0 && length(aws_sqs_queue.source_dead_letter) == 0 && aws_lambda_event_source_mapping.this.event_source_arn == "arn:aws:sqs:eu-west-1:111122223333:work-items"
    error_message = "An existing queue is consumed by its ARN; the module creates neither it nor a dead-letter queue."
  }

  assert {
    condition     = output.source_queue_name == "work-items" && aws_cloudwatch_metric_alarm.this["source_queue_age"].dimensions["QueueName"] == "work-items" && !contains(keys(output.alarm_arns), "dead_letter_queue_depth")
    error_message = "An existing queue is watched by its name; its dead-letter queue is its owner's."
  }
}

run "source_arn_from_a_resource_of_the_same_configuration_is_planned" {
  command = plan

  variables {
    event_source = {
      kind   = "sqs"
      create = false
      arn    = "arn:aws:sqs:eu-west-1:111122223333:work-items"
    }
  }

  assert {
    condition     = length(aws_sqs_queue.source) == 0
    error_message = "create = false must consume the queue named by arn."
  }
}

run "filters_metrics_and_their_key_apply_to_every_source" {
  command = plan

  variables {
    event_source = {
      kind = "sqs"
    }
    event_source_mapping = {
      filter_patterns = ["{\"body\":{\"type\":[\"order\"]}}"]
      kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    }
  }

  assert {
    condition = (
      one(one(aws_lambda_event_source_mapping.this.filter_criteria).filter).pattern == "{\"body\":{\"type\":[\"order\"]}}"
      && aws_lambda_event_source_mapping.this.kms_key_arn == "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
      && one(aws_lambda_event_source_mapping.this.metrics_config).metrics == toset(["EventCount"])
    )
    error_message = "Filter patterns, the key that encrypts them and the mapping's metrics must be set for a queue as for a stream."
  }
}

# --- Validations ---

run "unknown_source_kind_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "kafka" }
  }
  expect_failures = [var.event_source]
}

run "source_arn_of_another_kind_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/orders" }
  }
  expect_failures = [var.event_source]
}

run "dynamodb_source_without_arn_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "dynamodb" }
  }
  expect_failures = [var.event_source]
}

run "create_with_an_arn_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", create = true, arn = "arn:aws:sqs:eu-west-1:111122223333:work-items" }
  }
  expect_failures = [var.event_source]
}

run "kinesis_only_settings_with_another_source_are_rejected" {
  command = plan
  variables {
    event_source           = { kind = "sqs" }
    create_stream_consumer = true
  }
  expect_failures = [var.event_source]
}

run "source_key_for_kinesis_is_rejected" {
  command = plan
  variables {
    event_source = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
  }
  expect_failures = [var.event_source]
}

run "source_key_alias_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", kms_key_arn = "alias/queue" }
  }
  expect_failures = [var.event_source]
}

run "queue_settings_for_an_existing_queue_are_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", arn = "arn:aws:sqs:eu-west-1:111122223333:work-items", queue = { max_receive_count = 3 } }
  }
  expect_failures = [var.event_source]
}

run "visibility_timeout_below_six_function_timeouts_is_rejected" {
  command = plan
  variables {
    timeout      = 60
    event_source = { kind = "sqs", queue = { visibility_timeout_seconds = 300 } }
  }
  expect_failures = [var.event_source]
}

run "visibility_timeout_of_six_function_timeouts_is_accepted" {
  command = plan
  variables {
    timeout      = 60
    event_source = { kind = "sqs", queue = { visibility_timeout_seconds = 360 } }
  }
  assert {
    condition     = aws_sqs_queue.source[0].visibility_timeout_seconds == 360
    error_message = "A visibility timeout of six times the function's timeout must be accepted and set."
  }
}

run "source_queue_retention_out_of_range_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", queue = { message_retention_seconds = 30 } }
  }
  expect_failures = [var.event_source]
}

run "dead_letter_retention_out_of_range_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", queue = { dead_letter_retention_seconds = 1209601 } }
  }
  expect_failures = [var.event_source]
}

run "max_receive_count_out_of_range_is_rejected" {
  command = plan
  variables {
    event_source = { kind = "sqs", queue = { max_receive_count = 0 } }
  }
  expect_failures = [var.event_source]
}

run "stream_only_arguments_for_a_queue_are_rejected" {
  command = plan
  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { bisect_batch_on_function_error = true, maximum_retry_attempts = 2 }
  }
  expect_failures = [var.event_source_mapping]
}

run "starting_position_for_a_queue_is_rejected" {
  command = plan
  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { starting_position = "LATEST" }
  }
  expect_failures = [var.event_source_mapping]
}

run "maximum_concurrency_for_a_stream_is_rejected" {
  command = plan
  variables {
    event_source_mapping = { maximum_concurrency = 5 }
  }
  expect_failures = [var.event_source_mapping]
}

run "maximum_concurrency_below_two_is_rejected" {
  command = plan
  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { maximum_concurrency = 1 }
  }
  expect_failures = [var.event_source_mapping]
}

run "maximum_concurrency_above_a_thousand_is_rejected" {
  command = plan
  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { maximum_concurrency = 1001 }
  }
  expect_failures = [var.event_source_mapping]
}

run "queue_batch_above_ten_without_a_window_is_rejected" {
  command = plan
  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { batch_size = 100 }
  }
  expect_failures = [var.event_source_mapping]
}

run "queue_batch_above_ten_with_a_window_is_accepted" {
  command = plan
  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { batch_size = 100, maximum_batching_window_in_seconds = 1 }
  }
  assert {
    condition     = aws_lambda_event_source_mapping.this.batch_size == 100
    error_message = "A queue batch above 10 with a batching window of at least 1 s must be accepted."
  }
}

run "at_timestamp_for_a_dynamodb_stream_is_rejected" {
  command = plan
  variables {
    event_source         = { kind = "dynamodb", arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-31T12:00:00.000" }
    event_source_mapping = { starting_position = "AT_TIMESTAMP", starting_position_timestamp = "2024-01-31T12:00:00Z" }
  }
  expect_failures = [var.event_source_mapping]
}

run "more_than_ten_filters_are_rejected" {
  command = plan
  variables {
    event_source_mapping = { filter_patterns = [for n in range(11) : "{\"data\":{\"n\":[${n}]}}"] }
  }
  expect_failures = [var.event_source_mapping]
}

run "filter_key_alias_is_rejected" {
  command = plan
  variables {
    event_source_mapping = { kms_key_arn = "alias/filters" }
  }
  expect_failures = [var.event_source_mapping]
}

run "failure_destination_for_a_queue_is_rejected" {
  command = plan
  variables {
    event_source        = { kind = "sqs" }
    failure_destination = { kind = "sqs", arn = "arn:aws:sqs:eu-west-1:111122223333:team-dlq" }
  }
  expect_failures = [var.failure_destination]
}

run "repeated_condition_in_an_extra_statement_is_rejected" {
  command = plan
  variables {
    role_policy_statements = {
      WriteOutput = {
        actions   = ["s3:PutObject"]
        resources = ["arn:aws:s3:::orders-out/*"]
        conditions = [
          { test = "StringEquals", variable = "s3:x-amz-acl", values = ["private"] },
          { test = "StringEquals", variable = "s3:x-amz-acl", values = ["bucket-owner-full-control"] },
        ]
      }
    }
  }
  expect_failures = [var.role_policy_statements]
}

run "source_queue_age_threshold_must_be_positive" {
  command = plan
  variables {
    source_queue_age_alarm_threshold_seconds = 0
  }
  expect_failures = [var.source_queue_age_alarm_threshold_seconds]
}

run "dead_letter_queue_threshold_must_not_be_negative" {
  command = plan
  variables {
    dead_letter_queue_alarm_threshold = -1
  }
  expect_failures = [var.dead_letter_queue_alarm_threshold]
}
