# Settings that are each valid but unsafe together are refused, or need an acknowledgement; an
# input the module would silently ignore is refused; an existing stream is never looked up in the
# wrong account or region.

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

# --- Retrying forever ---

run "retrying_forever_without_an_acknowledgement_is_refused" {
  command = plan

  variables {
    event_source_mapping = { maximum_retry_attempts = -1, maximum_record_age_in_seconds = -1 }
  }

  expect_failures = [var.event_source_mapping]
}

run "acknowledged_retrying_forever_is_applied" {
  command = plan

  variables {
    event_source_mapping = { maximum_retry_attempts = -1, maximum_record_age_in_seconds = -1, acknowledge_unbounded_retries = true }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_retry_attempts == -1 && aws_lambda_event_source_mapping.this.maximum_record_age_in_seconds == -1 && aws_lambda_event_source_mapping.this.bisect_batch_on_function_error == true
    error_message = "Acknowledged, unbounded retries are applied as asked, with bisect still on."
  }
}

run "retrying_forever_without_bisect_is_warned_about" {
  command = plan

  variables {
    event_source_mapping = {
      maximum_retry_attempts         = -1
      maximum_record_age_in_seconds  = -1
      acknowledge_unbounded_retries  = true
      bisect_batch_on_function_error = false
    }
  }

  expect_failures = [check.unbounded_retries_without_bisect]
}

run "one_bound_needs_no_acknowledgement" {
  command = plan

  variables {
    event_source_mapping = { maximum_retry_attempts = -1, maximum_record_age_in_seconds = 3600 }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.maximum_retry_attempts == -1
    error_message = "Retries without limit but a finite record age are bounded, and need no acknowledgement."
  }
}

# --- Dead-letter retention ---

run "source_dead_letter_queue_keeping_less_than_the_source_is_refused" {
  command = plan

  variables {
    event_source = {
      kind = "sqs"
      queue = {
        message_retention_seconds     = 604800
        dead_letter_retention_seconds = 86400
      }
    }
  }

  expect_failures = [var.event_source]
}

run "source_dead_letter_queue_keeping_as_long_as_the_source_is_accepted" {
  command = plan

  variables {
    event_source = {
      kind  = "sqs"
      queue = { message_retention_seconds = 1209600, dead_letter_retention_seconds = 1209600 }
    }
  }

  assert {
    condition     = aws_sqs_queue.source_dead_letter[0].message_retention_seconds == 1209600
    error_message = "A dead-letter queue keeping messages as long as its source is accepted."
  }
}

# --- Concurrency ---

run "maximum_concurrency_above_reserved_concurrency_is_refused" {
  command = plan

  variables {
    event_source                   = { kind = "sqs" }
    reserved_concurrent_executions = 5
    event_source_mapping           = { maximum_concurrency = 10 }
  }

  expect_failures = [var.event_source_mapping]
}

run "maximum_concurrency_within_reserved_concurrency_is_accepted" {
  command = plan

  variables {
    event_source                   = { kind = "sqs" }
    reserved_concurrent_executions = 10
    event_source_mapping           = { maximum_concurrency = 10 }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.scaling_config[0].maximum_concurrency == 10
    error_message = "maximum_concurrency equal to the reserved concurrency is accepted."
  }
}

# --- Provisioned mode (SQS) ---

run "sqs_mapping_takes_provisioned_pollers" {
  command = plan

  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { provisioned_pollers = { minimum = 5, maximum = 300 } }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.provisioned_poller_config[0].minimum_pollers == 5 && aws_lambda_event_source_mapping.this.provisioned_poller_config[0].maximum_pollers == 300 && length(aws_lambda_event_source_mapping.this.scaling_config) == 0
    error_message = "provisioned_pollers must become the mapping's provisioned_poller_config, without scaling_config."
  }
}

run "provisioned_pollers_default_to_aws_s_two_and_two_hundred" {
  command = plan

  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { provisioned_pollers = {} }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.provisioned_poller_config[0].minimum_pollers == 2 && aws_lambda_event_source_mapping.this.provisioned_poller_config[0].maximum_pollers == 200
    error_message = "provisioned_pollers defaults to AWS's SQS defaults: 2 to 200 pollers."
  }
}

run "no_provisioned_mode_by_default" {
  command = plan

  variables {
    event_source = { kind = "sqs" }
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.this.provisioned_poller_config) == 0
    error_message = "Without provisioned_pollers the mapping polls on demand."
  }
}

run "provisioned_pollers_with_maximum_concurrency_are_refused" {
  command = plan

  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { maximum_concurrency = 10, provisioned_pollers = {} }
  }

  expect_failures = [var.event_source_mapping]
}

run "provisioned_pollers_for_a_stream_are_refused" {
  command = plan

  variables {
    event_source_mapping = { provisioned_pollers = {} }
  }

  expect_failures = [var.event_source_mapping]
}

run "provisioned_pollers_below_two_are_refused" {
  command = plan

  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { provisioned_pollers = { minimum = 1 } }
  }

  expect_failures = [var.event_source_mapping]
}

run "provisioned_pollers_minimum_above_maximum_is_refused" {
  command = plan

  variables {
    event_source         = { kind = "sqs" }
    event_source_mapping = { provisioned_pollers = { minimum = 50, maximum = 10 } }
  }

  expect_failures = [var.event_source_mapping]
}

# --- Inputs that would be ignored ---

run "stream_key_with_encryption_off_is_refused" {
  command = plan

  variables {
    stream_encryption_enabled = false
    stream_kms_key_arn        = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.stream_encryption_enabled]
}

run "role_arn_with_create_role_is_refused" {
  command = plan

  variables {
    role_arn = "arn:aws:iam::111122223333:role/team-role"
  }

  expect_failures = [var.role_arn]
}

run "role_name_without_create_role_is_refused" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::111122223333:role/team-role"
    role_name   = "orders"
  }

  expect_failures = [var.role_name]
}

run "boundary_without_create_role_is_refused" {
  command = plan

  variables {
    create_role                   = false
    role_arn                      = "arn:aws:iam::111122223333:role/team-role"
    role_permissions_boundary_arn = "arn:aws:iam::111122223333:policy/boundary"
  }

  expect_failures = [var.role_permissions_boundary_arn]
}

run "role_path_without_create_role_is_refused" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::111122223333:role/team-role"
    role_path   = "/service-roles/"
  }

  expect_failures = [var.role_path]
}

run "managed_policies_without_create_role_are_refused" {
  command = plan

  variables {
    create_role              = false
    role_arn                 = "arn:aws:iam::111122223333:role/team-role"
    role_managed_policy_arns = ["arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess"]
  }

  expect_failures = [var.role_managed_policy_arns]
}

run "stream_name_for_an_existing_stream_is_refused" {
  command = plan

  variables {
    event_source = { arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events" }
    stream_name  = "orders"
  }

  expect_failures = [var.stream_name]
}

run "consumer_name_without_a_consumer_is_refused" {
  command = plan

  variables {
    stream_consumer_name = "orders-efo"
  }

  expect_failures = [var.stream_consumer_name]
}

run "layer_name_without_create_layer_is_refused" {
  command = plan

  variables {
    layer_name = "shardsafe"
  }

  expect_failures = [var.layer_name]
}

run "layer_zip_without_create_layer_is_refused" {
  command = plan

  variables {
    layer_zip_path = "tests/fixtures/lambda-fixture.zip"
  }

  expect_failures = [var.create_layer]
}

# --- Existing streams of other accounts and regions ---

run "a_stream_of_this_account_and_region_is_looked_up" {
  command = plan

  variables {
    event_source         = { arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events" }
    event_source_mapping = { starting_position = "LATEST" }
  }

  assert {
    condition     = length(data.aws_kinesis_stream.existing) == 1 && data.aws_kinesis_stream.existing[0].name == "shared-events"
    error_message = "A stream of the provider's account and region is looked up by name for its retention."
  }
}

run "a_stream_of_another_account_is_not_looked_up_and_needs_its_retention" {
  command = plan

  variables {
    event_source = { arn = "arn:aws:kinesis:eu-west-1:444455556666:stream/shared-events" }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "a_stream_of_another_region_is_not_looked_up_and_needs_its_retention" {
  command = plan

  variables {
    event_source = { arn = "arn:aws:kinesis:us-east-1:111122223333:stream/shared-events" }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "a_stream_of_another_account_is_checked_against_the_given_retention" {
  command = plan

  variables {
    event_source         = { arn = "arn:aws:kinesis:eu-west-1:444455556666:stream/shared-events", retention_hours = 168 }
    event_source_mapping = { maximum_record_age_in_seconds = 86400, starting_position = "LATEST" }
  }

  assert {
    condition     = length(data.aws_kinesis_stream.existing) == 0 && aws_lambda_event_source_mapping.this.event_source_arn == "arn:aws:kinesis:eu-west-1:444455556666:stream/shared-events"
    error_message = "With retention_hours the stream is not looked up (a lookup by name would read this account's stream of that name)."
  }
}

run "record_age_beyond_the_given_retention_is_refused" {
  command = plan

  variables {
    event_source         = { arn = "arn:aws:kinesis:eu-west-1:444455556666:stream/shared-events", retention_hours = 24 }
    event_source_mapping = { maximum_record_age_in_seconds = 86400 }
  }

  expect_failures = [aws_lambda_event_source_mapping.this]
}

run "retention_hours_for_a_created_stream_is_refused" {
  command = plan

  variables {
    event_source = { retention_hours = 48 }
  }

  expect_failures = [var.event_source]
}

run "starting_at_trim_horizon_of_an_existing_stream_by_default_is_warned_about" {
  command = plan

  variables {
    event_source = { arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/shared-events" }
  }

  expect_failures = [check.existing_stream_backlog_older_than_the_record_age]
}
