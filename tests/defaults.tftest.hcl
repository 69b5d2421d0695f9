# The smallest call gets the safe pipeline: bisect on, finite retries and record age, the failure
# bucket as on-failure destination (records kept whole) and claim-check store, the quarantine queue,
# encryption at rest, a log group with retention, the mapping's metrics, alarms and a dashboard.

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

run "bisect_is_on_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.this.bisect_batch_on_function_error == true
    error_message = "A failing batch must be split in two (bisect_batch_on_function_error = true) by default, so one bad record cannot fail its neighbours forever."
  }
}

run "retries_and_record_age_are_finite_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_retry_attempts == 3
    error_message = "maximum_retry_attempts must default to 3, not AWS's -1 (retry forever), so a poison batch cannot stall its shard."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == 21600
    error_message = "maximum_record_age_in_seconds must default to 6 hours, not AWS's -1 (a week), and stay below the stream's 24 h retention."
  }
}

run "partial_batch_failures_are_reported_by_default" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.this.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "function_response_types must be [ReportBatchItemFailures] by default, so only the failed records of a batch are retried."
  }
}

run "failure_bucket_is_the_on_failure_destination" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket.failures) == 1 && aws_s3_bucket.failures[0].bucket_prefix == "orders-failures-"
    error_message = "The module must create its failure bucket by default, named from var.name."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == aws_s3_bucket.failures[0].arn
    error_message = "The mapping's on-failure destination must be the module's failure bucket, so every batch given up on is kept whole, records included."
  }

  assert {
    condition = (
      output.failure_destination_kind == "s3"
      && output.failure_destination_arn == aws_s3_bucket.failures[0].arn
      && output.failure_bucket_arn == aws_s3_bucket.failures[0].arn
      && output.failure_bucket_name == "orders-failures-20240131120000000000000001"
    )
    error_message = "failure_destination_kind, failure_destination_arn and failure_bucket_* must name the created bucket."
  }

  assert {
    condition     = aws_s3_bucket.failures[0].force_destroy == false
    error_message = "terraform destroy must not delete the failure bucket with the records in it unless asked (failure_destination.force_destroy)."
  }
}

run "quarantine_queue_is_created_and_named_as_the_failure_queue_was" {
  command = plan

  assert {
    condition     = length(aws_sqs_queue.quarantine) == 1 && aws_sqs_queue.quarantine[0].name == "orders-failures"
    error_message = "The module must create the quarantine queue, under the name it had as failure queue."
  }

  assert {
    condition = (
      output.quarantine_queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-failures"
      && output.quarantine_queue_arn == aws_sqs_queue.quarantine[0].arn
      && output.quarantine_kind == "sqs"
      && output.quarantine_topic_arn == null
    )
    error_message = "quarantine_queue_* must name the created queue, of kind sqs, with no topic."
  }
}

run "function_is_told_the_quarantine_queue_and_metrics_namespace" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_QUARANTINE_QUEUE_URL"] == aws_sqs_queue.quarantine[0].url
    error_message = "The function's SHARDSAFE_QUARANTINE_QUEUE_URL must be the quarantine queue's URL: the handler quarantines records there."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_METRICS_NAMESPACE"] == "shardsafe"
    error_message = "The function's SHARDSAFE_METRICS_NAMESPACE must default to \"shardsafe\", the namespace the quarantine alarm watches."
  }
}

run "function_is_told_that_batch_item_failures_are_reported" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_REPORT_BATCH_ITEM_FAILURES"] == "true"
    error_message = "The function's SHARDSAFE_REPORT_BATCH_ITEM_FAILURES must be \"true\" by default, like the mapping's ReportBatchItemFailures: the handler hands failed records back only when Lambda reads them."
  }
}

run "user_environment_variables_are_merged_in" {
  command = plan

  variables {
    environment_variables = { SHARDSAFE_OUTPUT_BUCKET = "orders-out", LOG_LEVEL = "DEBUG" }
    metrics_namespace     = "orders/pipeline"
  }

  assert {
    condition = aws_lambda_function.this.environment[0].variables == tomap({
      SHARDSAFE_OUTPUT_BUCKET                = "orders-out"
      LOG_LEVEL                              = "DEBUG"
      SHARDSAFE_QUARANTINE_SINK              = "sqs"
      SHARDSAFE_QUARANTINE_QUEUE_URL         = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-failures"
      SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES = "262144"
      SHARDSAFE_CLAIM_CHECK_BUCKET           = "orders-failures-20240131120000000000000001"
      SHARDSAFE_CLAIM_CHECK_PREFIX           = "claim-checks/"
      SHARDSAFE_METRICS_NAMESPACE            = "orders/pipeline"
      SHARDSAFE_REPORT_BATCH_ITEM_FAILURES   = "true"
    })
    error_message = "The function's environment must be the user's variables plus the module's quarantine queue and its limit, claim-check location, metrics namespace and batch-item failure setting."
  }
}

run "stream_is_encrypted_with_kms_by_default" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.this[0].encryption_type == "KMS" && aws_kinesis_stream.this[0].kms_key_id == "alias/aws/kinesis"
    error_message = "The created stream must be encrypted at rest with KMS, by default with the AWS managed key alias/aws/kinesis."
  }
}

run "stream_is_provisioned_with_one_shard_and_a_day_of_retention" {
  command = plan

  assert {
    condition     = aws_kinesis_stream.this[0].name == "orders" && aws_kinesis_stream.this[0].stream_mode_details[0].stream_mode == "PROVISIONED"
    error_message = "The stream must be named after var.name and be PROVISIONED by default."
  }

  assert {
    condition     = aws_kinesis_stream.this[0].shard_count == 1 && aws_kinesis_stream.this[0].retention_period == 24
    error_message = "The stream must default to 1 shard and 24 hours of retention."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.event_source_arn == aws_kinesis_stream.this[0].arn && aws_lambda_event_source_mapping.this.starting_position == "TRIM_HORIZON"
    error_message = "Without enhanced fan-out the mapping must read the stream itself, from TRIM_HORIZON so no record written before it exists is skipped."
  }
}

run "quarantine_queue_is_encrypted_and_keeps_messages_14_days" {
  command = plan

  assert {
    condition     = aws_sqs_queue.quarantine[0].sqs_managed_sse_enabled == true && aws_sqs_queue.quarantine[0].kms_master_key_id == null
    error_message = "The quarantine queue must be encrypted at rest (SSE-SQS) when no customer key is given."
  }

  assert {
    condition     = aws_sqs_queue.quarantine[0].message_retention_seconds == 1209600
    error_message = "The quarantine queue must keep messages 14 days (1209600 s), the SQS maximum."
  }

  assert {
    condition     = aws_sqs_queue.quarantine[0].visibility_timeout_seconds == 6 * aws_lambda_function.this.timeout
    error_message = "The quarantine queue's visibility timeout must be six times the function timeout, so a redrive function of the same timeout can work a message."
  }
}

run "quarantine_limit_is_the_queue_s_and_the_handler_s" {
  command = plan

  assert {
    condition     = aws_sqs_queue.quarantine[0].max_message_size == 262144
    error_message = "The created queue must take 262144-byte messages by default, the most AWS provider 5.x accepts."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES"] == tostring(aws_sqs_queue.quarantine[0].max_message_size)
    error_message = "The function's SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES must be the queue's limit, so the handler sends a larger envelope as a claim check instead."
  }
}

run "function_runs_the_package_with_tracing_and_its_own_log_group" {
  command = plan

  assert {
    condition     = aws_lambda_function.this.runtime == "python3.13" && aws_lambda_function.this.handler == "handler.lambda_handler"
    error_message = "The function must default to python3.13 and the package's handler.lambda_handler."
  }

  assert {
    condition     = aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/lambda-fixture.zip")
    error_message = "source_code_hash must be the package's SHA-256, so a code change redeploys the function."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "X-Ray tracing must be Active by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/orders" && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "The module must create the function's log group (/aws/lambda/<name>) with a retention (30 days by default)."
  }
}

run "alarms_watch_lag_errors_throttles_failures_and_quarantine" {
  command = plan

  assert {
    condition     = keys(aws_cloudwatch_metric_alarm.this) == ["duration", "errors", "iterator_age", "quarantine_queue_depth", "records_dropped", "records_quarantined", "records_to_failure_destination", "throttles"]
    error_message = "Alarms must be created by default for iterator age, errors, throttles, duration, quarantine queue depth, quarantined records, records sent to the failure destination and records dropped."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["iterator_age"].metric_name == "IteratorAge"
      && aws_cloudwatch_metric_alarm.this["iterator_age"].statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.this["iterator_age"].threshold == 60000
      && aws_cloudwatch_metric_alarm.this["iterator_age"].dimensions == tomap({ FunctionName = "orders" })
    )
    error_message = "The iterator age alarm must watch the function's IteratorAge Maximum against iterator_age_alarm_threshold_ms (60000)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["records_quarantined"].namespace == "shardsafe"
      && aws_cloudwatch_metric_alarm.this["records_quarantined"].metric_name == "RecordsQuarantined"
      && aws_cloudwatch_metric_alarm.this["records_quarantined"].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.this["records_quarantined"].comparison_operator == "GreaterThanThreshold"
      && aws_cloudwatch_metric_alarm.this["records_quarantined"].threshold == 0
    )
    error_message = "The quarantine alarm must fire on the handler's RecordsQuarantined Sum > 0 in the metrics namespace."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["quarantine_queue_depth"].namespace == "AWS/SQS"
      && aws_cloudwatch_metric_alarm.this["quarantine_queue_depth"].dimensions == tomap({ QueueName = "orders-failures" })
    )
    error_message = "The quarantine queue alarm must watch the quarantine queue's visible messages."
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.treat_missing_data == "notBreaching"])
    error_message = "Every alarm must treat missing data as not breaching: no traffic is not a failure."
  }
}

run "alarm_actions_are_sent_to_every_alarm" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:eu-west-1:111122223333:oncall"]
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset(["arn:aws:sns:eu-west-1:111122223333:oncall"])])
    error_message = "alarm_actions must be set on every alarm."
  }
}

run "dashboard_shows_what_the_alarms_watch" {
  command = plan

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "orders-eu-west-1"
    error_message = "The dashboard must be created by default and named after var.name and the region."
  }

  assert {
    condition = alltrue([
      for metric in ["IteratorAge", "Errors", "Throttles", "ApproximateNumberOfMessagesVisible", "RecordsProcessed", "RecordsQuarantined", "RecordsSkipped", "RecordsHandedBack", "BatchDuration", "OnFailureDestinationDeliveredEventCount", "DroppedEventCount"] :
      strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "\"${metric}\"")
    ])
    error_message = "The dashboard must graph iterator age, errors, throttles, quarantine queue depth, the handler's record metrics, and the records sent to the failure destination or dropped."
  }

  assert {
    condition = alltrue([
      for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets :
      widget.properties.region == "eu-west-1" if widget.type == "metric"
    ])
    error_message = "Every metric widget must name the function's region (eu-west-1 in the mock ARN)."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[0].properties.alarms) == 8
    error_message = "The dashboard must open with the state of the eight alarms."
  }
}

run "outputs_name_what_was_made" {
  command = plan

  assert {
    condition = (
      output.stream_name == "orders"
      && output.stream_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/orders"
      && output.function_name == "orders"
      && output.role_arn == "arn:aws:iam::111122223333:role/orders"
      && output.event_source_mapping_uuid == "00000000-0000-4000-8000-000000000000"
      && output.log_group_name == "/aws/lambda/orders"
      && output.dashboard_name == "orders-eu-west-1"
      && output.stream_consumer_arn == null
    )
    error_message = "Outputs must name the created stream, function, role, mapping, log group and dashboard (and no consumer without enhanced fan-out)."
  }
}
