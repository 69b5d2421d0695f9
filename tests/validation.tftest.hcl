# One run per validation: each feeds one variable one value outside what AWS (or the pipeline's
# safety) allows and expects that variable's validation to stop the plan.

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

run "name_must_be_a_lambda_function_name" {
  command = plan

  variables {
    name = "orders pipeline!"
  }

  expect_failures = [var.name]
}

run "stream_name_must_be_a_kinesis_stream_name" {
  command = plan

  variables {
    stream_name = "orders/in"
  }

  expect_failures = [var.stream_name]
}

run "stream_mode_must_be_provisioned_or_on_demand" {
  command = plan

  variables {
    stream_mode = "SERVERLESS"
  }

  expect_failures = [var.stream_mode]
}

run "shard_count_must_be_at_least_one" {
  command = plan

  variables {
    shard_count = 0
  }

  expect_failures = [var.shard_count]
}

run "retention_period_must_be_24_to_8760_hours" {
  command = plan

  variables {
    retention_period = 23
  }

  expect_failures = [var.retention_period]
}

run "stream_kms_key_arn_must_be_a_key_arn" {
  command = plan

  variables {
    stream_kms_key_arn = "alias/orders"
  }

  expect_failures = [var.stream_kms_key_arn]
}

run "shard_level_metrics_must_be_known_metrics" {
  command = plan

  variables {
    shard_level_metrics = ["IncomingRecords", "Latency"]
  }

  expect_failures = [var.shard_level_metrics]
}

run "stream_consumer_name_must_be_a_consumer_name" {
  command = plan

  variables {
    stream_consumer_name = "orders consumer"
  }

  expect_failures = [var.stream_consumer_name]
}

run "function_zip_path_must_name_a_file" {
  command = plan

  variables {
    function_zip_path = "build/no-such-package.zip"
  }

  expect_failures = [var.function_zip_path]
}

run "runtime_must_be_python_3_12_or_3_13" {
  command = plan

  variables {
    runtime = "python3.11"
  }

  expect_failures = [var.runtime]
}

run "architecture_must_be_x86_64_or_arm64" {
  command = plan

  variables {
    architecture = "amd64"
  }

  expect_failures = [var.architecture]
}

run "memory_size_must_be_128_to_10240_mb" {
  command = plan

  variables {
    memory_size = 64
  }

  expect_failures = [var.memory_size]
}

run "timeout_must_be_1_to_900_seconds" {
  command = plan

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}

run "environment_variables_must_not_override_the_module_s_own" {
  command = plan

  variables {
    environment_variables = { SHARDSAFE_QUARANTINE_QUEUE_URL = "https://example.com/q" }
  }

  expect_failures = [var.environment_variables]
}

run "environment_variables_must_not_override_the_claim_check_location" {
  command = plan

  variables {
    environment_variables = { SHARDSAFE_CLAIM_CHECK_BUCKET = "elsewhere" }
  }

  expect_failures = [var.environment_variables]
}

run "environment_variables_must_not_override_the_quarantine_limit" {
  command = plan

  variables {
    environment_variables = { SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES = "1048576" }
  }

  expect_failures = [var.environment_variables]
}

run "environment_variables_must_not_override_batch_item_failure_reporting" {
  command = plan

  variables {
    environment_variables = { SHARDSAFE_REPORT_BATCH_ITEM_FAILURES = "true" }
  }

  expect_failures = [var.environment_variables]
}

run "layers_must_be_at_most_five" {
  command = plan

  variables {
    layers = [for n in range(6) : "arn:aws:lambda:eu-west-1:111122223333:layer:deps${n}:1"]
  }

  expect_failures = [var.layers]
}

run "layers_must_be_layer_version_arns" {
  command = plan

  variables {
    layers = ["arn:aws:lambda:eu-west-1:111122223333:layer:deps"]
  }

  expect_failures = [var.layers]
}

run "reserved_concurrent_executions_must_not_be_negative" {
  command = plan

  variables {
    reserved_concurrent_executions = -1
  }

  expect_failures = [var.reserved_concurrent_executions]
}

run "tracing_mode_must_be_active_or_pass_through" {
  command = plan

  variables {
    tracing_mode = "On"
  }

  expect_failures = [var.tracing_mode]
}

run "function_kms_key_arn_must_be_a_key_arn" {
  command = plan

  variables {
    function_kms_key_arn = "11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.function_kms_key_arn]
}

run "log_retention_in_days_must_be_a_cloudwatch_value" {
  command = plan

  variables {
    log_retention_in_days = 10
  }

  expect_failures = [var.log_retention_in_days]
}

run "log_group_kms_key_arn_must_be_a_key_arn" {
  command = plan

  variables {
    log_group_kms_key_arn = "alias/logs"
  }

  expect_failures = [var.log_group_kms_key_arn]
}

run "metrics_namespace_must_not_be_an_aws_namespace" {
  command = plan

  variables {
    metrics_namespace = "AWS/Lambda"
  }

  expect_failures = [var.metrics_namespace]
}

run "role_arn_is_required_without_create_role" {
  command = plan

  variables {
    create_role = false
  }

  expect_failures = [var.role_arn]
}

run "role_arn_must_be_an_iam_role_arn" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::111122223333:user/orders"
  }

  expect_failures = [var.role_arn]
}

run "role_name_must_be_an_iam_role_name" {
  command = plan

  variables {
    role_name = "orders role"
  }

  expect_failures = [var.role_name]
}

run "role_policy_statement_ids_must_be_alphanumeric" {
  command = plan

  variables {
    role_policy_statements = { "write-output" = { actions = ["s3:PutObject"], resources = ["arn:aws:s3:::out/*"] } }
  }

  expect_failures = [var.role_policy_statements]
}

run "role_policy_statement_effect_must_be_allow_or_deny" {
  command = plan

  variables {
    role_policy_statements = { WriteOutput = { effect = "allow", actions = ["s3:PutObject"], resources = ["arn:aws:s3:::out/*"] } }
  }

  expect_failures = [var.role_policy_statements]
}

run "role_policy_statements_must_name_actions_and_resources" {
  command = plan

  variables {
    role_policy_statements = { WriteOutput = { actions = ["s3:PutObject"], resources = [] } }
  }

  expect_failures = [var.role_policy_statements]
}

run "role_permissions_boundary_must_be_a_policy_arn" {
  command = plan

  variables {
    role_permissions_boundary_arn = "boundary"
  }

  expect_failures = [var.role_permissions_boundary_arn]
}

run "batch_size_must_be_1_to_10000" {
  command = plan

  variables {
    event_source_mapping = { batch_size = 10001 }
  }

  expect_failures = [var.event_source_mapping]
}

run "batching_window_must_be_0_to_300_seconds" {
  command = plan

  variables {
    event_source_mapping = { maximum_batching_window_in_seconds = 301 }
  }

  expect_failures = [var.event_source_mapping]
}

run "starting_position_must_be_a_kinesis_position" {
  command = plan

  variables {
    event_source_mapping = { starting_position = "EARLIEST" }
  }

  expect_failures = [var.event_source_mapping]
}

run "at_timestamp_needs_an_rfc3339_timestamp" {
  command = plan

  variables {
    event_source_mapping = { starting_position = "AT_TIMESTAMP" }
  }

  expect_failures = [var.event_source_mapping]
}

run "starting_position_timestamp_needs_at_timestamp" {
  command = plan

  variables {
    event_source_mapping = { starting_position = "LATEST", starting_position_timestamp = "2024-01-31T12:00:00Z" }
  }

  expect_failures = [var.event_source_mapping]
}

run "parallelization_factor_must_be_1_to_10" {
  command = plan

  variables {
    event_source_mapping = { parallelization_factor = 11 }
  }

  expect_failures = [var.event_source_mapping]
}

run "maximum_retry_attempts_must_be_minus_1_to_10000" {
  command = plan

  variables {
    event_source_mapping = { maximum_retry_attempts = -2 }
  }

  expect_failures = [var.event_source_mapping]
}

run "maximum_record_age_must_be_minus_1_or_60_to_604800" {
  command = plan

  variables {
    event_source_mapping = { maximum_record_age_in_seconds = 59 }
  }

  expect_failures = [var.event_source_mapping]
}

run "maximum_record_age_must_be_shorter_than_retention" {
  command = plan

  variables {
    event_source_mapping = { maximum_record_age_in_seconds = 86400 }
  }

  expect_failures = [var.event_source_mapping]
}

run "tumbling_window_must_be_0_to_900_seconds" {
  command = plan

  variables {
    event_source_mapping = { tumbling_window_in_seconds = 901 }
  }

  expect_failures = [var.event_source_mapping]
}

run "mapping_metrics_must_be_event_count_or_none" {
  command = plan

  variables {
    event_source_mapping = { metrics = ["EventCount", "KafkaMetrics"] }
  }

  expect_failures = [var.event_source_mapping]
}

run "filter_patterns_must_be_json_objects" {
  command = plan

  variables {
    event_source_mapping = { filter_patterns = ["data.type = order"] }
  }

  expect_failures = [var.event_source_mapping]
}

run "failure_destination_kind_must_be_s3_sqs_or_sns" {
  command = plan

  variables {
    failure_destination = { kind = "kinesis" }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_arn_must_be_of_its_kind" {
  command = plan

  variables {
    failure_destination = { kind = "s3", arn = "arn:aws:sqs:eu-west-1:111122223333:team-dlq" }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_arn_must_not_be_a_fifo_queue" {
  command = plan

  variables {
    failure_destination = { kind = "sqs", arn = "arn:aws:sqs:eu-west-1:111122223333:team-dlq.fifo" }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_sns_needs_an_existing_topic" {
  command = plan

  variables {
    failure_destination = { kind = "sns" }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_kms_key_arn_must_be_a_key_arn" {
  command = plan

  variables {
    failure_destination = { kms_key_arn = "alias/orders" }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_key_of_the_quarantine_queue_is_set_on_the_queue" {
  command = plan

  variables {
    failure_destination = { kind = "sqs", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_retention_must_be_whole_days" {
  command = plan

  variables {
    failure_destination = { retention_days = 0.5 }
  }

  expect_failures = [var.failure_destination]
}

run "failure_destination_retention_is_for_the_created_bucket_only" {
  command = plan

  variables {
    failure_destination = { kind = "s3", arn = "arn:aws:s3:::team-failures", retention_days = 30 }
  }

  expect_failures = [var.failure_destination]
}

run "claim_check_bucket_arn_must_be_a_bucket_arn" {
  command = plan

  variables {
    claim_check = { bucket_arn = "team-claims" }
  }

  expect_failures = [var.claim_check]
}

run "claim_check_prefix_must_end_with_a_slash" {
  command = plan

  variables {
    claim_check = { prefix = "claim-checks" }
  }

  expect_failures = [var.claim_check]
}

run "claim_check_prefix_must_not_be_under_lambda_s_objects" {
  command = plan

  variables {
    claim_check = { prefix = "aws/lambda/claims/" }
  }

  expect_failures = [var.claim_check]
}

run "claim_check_kms_key_arn_must_be_a_key_arn" {
  command = plan

  variables {
    claim_check = { bucket_arn = "arn:aws:s3:::team-claims", kms_key_arn = "alias/claims" }
  }

  expect_failures = [var.claim_check]
}

run "claim_check_kms_key_needs_its_bucket" {
  command = plan

  variables {
    claim_check = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  expect_failures = [var.claim_check]
}

run "alarm_actions_must_be_arns" {
  command = plan

  variables {
    alarm_actions = ["oncall"]
  }

  expect_failures = [var.alarm_actions]
}

run "ok_actions_must_be_arns" {
  command = plan

  variables {
    ok_actions = ["oncall"]
  }

  expect_failures = [var.ok_actions]
}

run "alarm_period_must_be_10_30_or_a_multiple_of_60" {
  command = plan

  variables {
    alarm_period_seconds = 90
  }

  expect_failures = [var.alarm_period_seconds]
}

run "alarm_evaluation_periods_must_be_at_least_one" {
  command = plan

  variables {
    alarm_evaluation_periods = 0
  }

  expect_failures = [var.alarm_evaluation_periods]
}

run "iterator_age_alarm_threshold_must_be_positive" {
  command = plan

  variables {
    iterator_age_alarm_threshold_ms = 0
  }

  expect_failures = [var.iterator_age_alarm_threshold_ms]
}

run "errors_alarm_threshold_must_not_be_negative" {
  command = plan

  variables {
    errors_alarm_threshold = -1
  }

  expect_failures = [var.errors_alarm_threshold]
}

run "throttles_alarm_threshold_must_not_be_negative" {
  command = plan

  variables {
    throttles_alarm_threshold = -1
  }

  expect_failures = [var.throttles_alarm_threshold]
}

run "quarantine_queue_alarm_threshold_must_not_be_negative" {
  command = plan

  variables {
    quarantine_queue_alarm_threshold = -1
  }

  expect_failures = [var.quarantine_queue_alarm_threshold]
}

run "failure_destination_alarm_threshold_must_not_be_negative" {
  command = plan

  variables {
    failure_destination_alarm_threshold = -1
  }

  expect_failures = [var.failure_destination_alarm_threshold]
}

run "dropped_records_alarm_threshold_must_not_be_negative" {
  command = plan

  variables {
    dropped_records_alarm_threshold = -1
  }

  expect_failures = [var.dropped_records_alarm_threshold]
}

run "quarantined_records_alarm_threshold_must_not_be_negative" {
  command = plan

  variables {
    quarantined_records_alarm_threshold = -1
  }

  expect_failures = [var.quarantined_records_alarm_threshold]
}
