# What the caller can switch: an existing stream, queue or role instead of the module's, enhanced
# fan-out, on-demand capacity, customer keys, alarms and dashboard off, mapping settings.

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

run "existing_stream_is_consumed_without_creating_one" {
  command = plan

  variables {
    event_source         = { arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events" }
    event_source_mapping = { starting_position = "LATEST" }
  }

  assert {
    condition     = length(aws_kinesis_stream.this) == 0
    error_message = "No stream may be created for an existing stream (event_source.arn)."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.event_source_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"
    error_message = "The mapping must read the stream named by event_source.arn."
  }

  assert {
    condition     = output.stream_name == "shared-events" && output.stream_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"
    error_message = "stream_name and stream_arn must name the existing stream (its name is the ARN's last part)."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "KinesisStreamRead"
    ]) == toset(["arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events"])
    error_message = "The role may read the existing stream, and only it."
  }
}

run "existing_stream_key_is_granted_for_decrypt" {
  command = plan

  variables {
    event_source         = { arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events" }
    event_source_mapping = { starting_position = "LATEST" }
    stream_kms_key_arn   = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "StreamKeyDecrypt"
    ]) == toset(["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"])
    error_message = "The role must be able to decrypt with the existing stream's customer key, and only that key."
  }
}

run "existing_role_is_used_and_left_alone" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::111122223333:role/platform/orders-lambda"
  }

  assert {
    condition     = length(aws_iam_role.this) == 0 && length(aws_iam_role_policy.this) == 0
    error_message = "No role and no policy may be created when create_role is false."
  }

  assert {
    condition     = aws_lambda_function.this.role == "arn:aws:iam::111122223333:role/platform/orders-lambda" && output.role_arn == aws_lambda_function.this.role
    error_message = "The function must run as the role named by role_arn."
  }

  assert {
    condition     = contains([for statement in jsondecode(output.role_policy_json).Statement : try(statement.Sid, "")], "KinesisStreamRead") && output.role_name == null
    error_message = "role_policy_json must still give the policy the caller's role needs."
  }
}

run "enhanced_fan_out_reads_through_a_consumer" {
  command = plan

  variables {
    create_stream_consumer = true
  }

  assert {
    condition     = aws_kinesis_stream_consumer.this[0].stream_arn == aws_kinesis_stream.this[0].arn && aws_kinesis_stream_consumer.this[0].name == "orders"
    error_message = "The consumer must be registered on the stream, named after var.name."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.event_source_arn == aws_kinesis_stream_consumer.this[0].arn
    error_message = "With enhanced fan-out the mapping must read through the consumer."
  }

  assert {
    condition     = output.stream_consumer_arn == aws_kinesis_stream_consumer.this[0].arn
    error_message = "stream_consumer_arn must name the consumer."
  }
}

run "on_demand_stream_has_no_shard_count" {
  command = plan

  variables {
    stream_mode = "ON_DEMAND"
    shard_count = 4
  }

  assert {
    condition     = aws_kinesis_stream.this[0].stream_mode_details[0].stream_mode == "ON_DEMAND" && aws_kinesis_stream.this[0].shard_count == null
    error_message = "An ON_DEMAND stream must have no shard_count (AWS rejects one)."
  }
}

run "provisioned_stream_takes_shards_retention_and_metrics" {
  command = plan

  variables {
    stream_name         = "orders-in"
    shard_count         = 4
    retention_period    = 168
    shard_level_metrics = ["IncomingRecords", "IteratorAgeMilliseconds"]
  }

  assert {
    condition = (
      aws_kinesis_stream.this[0].name == "orders-in"
      && aws_kinesis_stream.this[0].shard_count == 4
      && aws_kinesis_stream.this[0].retention_period == 168
      && aws_kinesis_stream.this[0].shard_level_metrics == toset(["IncomingRecords", "IteratorAgeMilliseconds"])
    )
    error_message = "stream_name, shard_count, retention_period and shard_level_metrics must be passed to the stream."
  }
}

run "customer_keys_encrypt_stream_queue_logs_and_environment" {
  command = plan

  variables {
    stream_kms_key_arn    = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine            = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
    log_group_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    function_kms_key_arn  = "arn:aws:kms:eu-west-1:111122223333:key/ffffffff-0000-1111-2222-333333333333"
  }

  assert {
    condition     = aws_kinesis_stream.this[0].kms_key_id == "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    error_message = "stream_kms_key_arn must encrypt the created stream."
  }

  assert {
    condition     = aws_sqs_queue.quarantine[0].kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" && aws_sqs_queue.quarantine[0].sqs_managed_sse_enabled != true
    error_message = "quarantine.kms_key_arn must encrypt the created queue (SSE-KMS instead of SSE-SQS)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" && aws_lambda_function.this.kms_key_arn == "arn:aws:kms:eu-west-1:111122223333:key/ffffffff-0000-1111-2222-333333333333"
    error_message = "log_group_kms_key_arn and function_kms_key_arn must encrypt the log group and the function's environment."
  }
}

run "stream_encryption_can_be_turned_off" {
  command = plan

  variables {
    stream_encryption_enabled = false
  }

  assert {
    condition     = aws_kinesis_stream.this[0].encryption_type == "NONE" && aws_kinesis_stream.this[0].kms_key_id == null
    error_message = "stream_encryption_enabled = false must leave the created stream unencrypted."
  }

  assert {
    condition     = !contains([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "")], "StreamKeyDecrypt")
    error_message = "An unencrypted stream needs no KMS permission."
  }
}

run "alarms_and_dashboard_can_be_turned_off" {
  command = plan

  variables {
    create_alarms    = false
    create_dashboard = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && output.alarm_arns == {}
    error_message = "No alarm may be created when create_alarms is false."
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && output.dashboard_name == null
    error_message = "No dashboard may be created when create_dashboard is false."
  }
}

run "dashboard_stays_without_alarms" {
  command = plan

  variables {
    create_alarms = false
  }

  assert {
    condition     = alltrue([for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : widget.type == "metric"])
    error_message = "Without alarms the dashboard must show its metric graphs and no empty alarm widget."
  }
}

run "alarm_thresholds_and_periods_are_passed_through" {
  command = plan

  variables {
    metrics_namespace                   = "orders/pipeline"
    iterator_age_alarm_threshold_ms     = 300000
    quarantined_records_alarm_threshold = 10
    alarm_period_seconds                = 300
    alarm_evaluation_periods            = 3
    ok_actions                          = ["arn:aws:sns:eu-west-1:111122223333:oncall"]
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["iterator_age"].threshold == 300000 && aws_cloudwatch_metric_alarm.this["records_quarantined"].threshold == 10
    error_message = "The iterator age and quarantine thresholds must come from their variables."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["records_quarantined"].namespace == "orders/pipeline"
    error_message = "The quarantine alarm must watch metrics_namespace."
  }

  assert {
    condition = alltrue([
      for alarm in aws_cloudwatch_metric_alarm.this :
      alarm.period == 300 && alarm.evaluation_periods == 3 && alarm.ok_actions == toset(["arn:aws:sns:eu-west-1:111122223333:oncall"])
    ])
    error_message = "alarm_period_seconds, alarm_evaluation_periods and ok_actions must apply to every alarm."
  }
}

run "mapping_settings_are_passed_through" {
  command = plan

  variables {
    event_source_mapping = {
      enabled                            = false
      batch_size                         = 500
      maximum_batching_window_in_seconds = 5
      starting_position                  = "AT_TIMESTAMP"
      starting_position_timestamp        = "2024-01-31T12:00:00Z"
      parallelization_factor             = 4
      bisect_batch_on_function_error     = false
      maximum_retry_attempts             = 10
      maximum_record_age_in_seconds      = 3600
      report_batch_item_failures         = false
      tumbling_window_in_seconds         = 60
      filter_patterns                    = ["{\"data\":{\"type\":[\"order\"]}}"]
    }
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this.enabled == false
      && aws_lambda_event_source_mapping.this.batch_size == 500
      && aws_lambda_event_source_mapping.this.maximum_batching_window_in_seconds == 5
      && aws_lambda_event_source_mapping.this.starting_position == "AT_TIMESTAMP"
      && aws_lambda_event_source_mapping.this.starting_position_timestamp == "2024-01-31T12:00:00Z"
      && aws_lambda_event_source_mapping.this.parallelization_factor == 4
      && aws_lambda_event_source_mapping.this.tumbling_window_in_seconds == 60
    )
    error_message = "Every event_source_mapping setting must reach the mapping."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.this.bisect_batch_on_function_error == false
      && aws_lambda_event_source_mapping.this.maximum_retry_attempts == 10
      && aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == 3600
      && length(aws_lambda_event_source_mapping.this.function_response_types) == 0
    )
    error_message = "The error-handling settings must reach the mapping as given."
  }

  assert {
    condition     = one(aws_lambda_event_source_mapping.this.filter_criteria[0].filter).pattern == "{\"data\":{\"type\":[\"order\"]}}"
    error_message = "filter_patterns must become the mapping's filter criteria."
  }
}

run "without_batch_item_failures_the_function_is_told_so" {
  command = plan

  variables {
    event_source_mapping = { report_batch_item_failures = false }
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.this.function_response_types) == 0
    error_message = "With report_batch_item_failures = false the mapping must not ask for ReportBatchItemFailures (function_response_types empty)."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_REPORT_BATCH_ITEM_FAILURES"] == "false"
    error_message = "With report_batch_item_failures = false the function's SHARDSAFE_REPORT_BATCH_ITEM_FAILURES must be \"false\": Lambda ignores batchItemFailures then, so the handler must not hand records back."
  }
}

run "no_filter_criteria_without_patterns" {
  command = plan

  assert {
    condition     = length(aws_lambda_event_source_mapping.this.filter_criteria) == 0
    error_message = "Without filter_patterns the mapping must have no filter criteria (an empty filter would drop every record)."
  }
}

run "range_limits_are_accepted" {
  command = plan

  variables {
    retention_period = 8760
    memory_size      = 10240
    timeout          = 900
    event_source_mapping = {
      batch_size                         = 10000
      maximum_batching_window_in_seconds = 300
      parallelization_factor             = 10
      maximum_retry_attempts             = 10000
      maximum_record_age_in_seconds      = 604800
      tumbling_window_in_seconds         = 900
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.batch_size == 10000 && aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == 604800
    error_message = "The upper limits AWS documents must be accepted."
  }

  assert {
    condition     = aws_sqs_queue.quarantine[0].visibility_timeout_seconds == 5400
    error_message = "The quarantine queue's visibility timeout must be six times a 900 s function timeout."
  }
}

run "lower_limits_and_unlimited_values_are_accepted" {
  command = plan

  variables {
    memory_size = 128
    timeout     = 1
    event_source_mapping = {
      batch_size                    = 1
      parallelization_factor        = 1
      maximum_retry_attempts        = -1
      maximum_record_age_in_seconds = -1
      acknowledge_unbounded_retries = true
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_retry_attempts == -1 && aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == -1
    error_message = "-1 (AWS's unlimited) must be accepted when the caller asks for it."
  }

  assert {
    condition     = aws_sqs_queue.quarantine[0].visibility_timeout_seconds == 30
    error_message = "The quarantine queue's visibility timeout must be at least 30 s."
  }
}
