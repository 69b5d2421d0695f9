# Every example is planned, not only validated: each one's call of the module must pass the
# module's validations and build the resources it promises.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  function_zip_path = "tests/fixtures/lambda-fixture.zip"
  # Alarms that notify someone: without, a check block warns (and fails a test run).
  alarm_actions = ["arn:aws:sns:eu-west-1:111122223333:oncall"]
}

run "simple_example_plans_a_kinesis_pipeline" {
  command = plan

  module {
    source = "./examples/simple"
  }

  assert {
    condition     = output.stream_name != null && output.failure_bucket_name != null
    error_message = "examples/simple must plan a stream and the failure bucket."
  }
}

run "complete_example_plans_every_feature" {
  command = plan

  module {
    source = "./examples/complete"
  }

  variables {
    lambda_zip_path = "tests/fixtures/lambda-fixture.zip"
  }

  assert {
    condition     = output.stream_arn != null
    error_message = "examples/complete must plan its stream."
  }
}

run "sqs_queue_example_plans_a_queue_with_a_dead_letter_queue" {
  command = plan

  module {
    source = "./examples/sqs-queue"
  }

  assert {
    condition     = output.source_queue_url != null && output.source_dead_letter_queue_url != null
    error_message = "examples/sqs-queue must plan the source queue and its dead-letter queue."
  }
}

run "dynamodb_stream_example_plans_a_table_stream_source" {
  command = plan

  module {
    source = "./examples/dynamodb-stream"
  }

  assert {
    condition     = output.table_name == "shardsafe-table" && output.failure_bucket_name != null
    error_message = "examples/dynamodb-stream must plan the table and the failure bucket the stream's failed batches go to."
  }
}

run "tumbling_window_example_plans_a_stream_aggregated_by_window" {
  command = plan

  module {
    source = "./examples/tumbling-window"
  }

  assert {
    condition     = output.stream_name != null && output.function_name != null && output.output_bucket_name != null
    error_message = "examples/tumbling-window must plan the stream, the window function and the bucket each window's counts go to."
  }
}

run "sqs_jobs_example_plans_workers_with_an_idempotency_table" {
  command = plan

  module {
    source = "./examples/sqs-jobs"
  }

  assert {
    condition     = output.idempotency_table_name == "jobs-idempotency" && output.tasks_queue_url != null
    error_message = "examples/sqs-jobs must plan the tasks queue and the module's idempotency table (jobs-idempotency)."
  }
}
