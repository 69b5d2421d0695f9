# Realistic computed values for plan-level tests (mock_provider "aws" { source = "./tests/mocks" }):
# ARNs in the shapes AWS returns, so the module's ARN parsing and policy scoping can be asserted.
# Every queue, bucket, topic, table and stream the module can create has an ARN of its own
# (override_resource by address), so that a test tells apart a grant or a redrive target that
# names the wrong one: a mock_resource default would give them all the same.

# --- Defaults for any resource of a type (examples' own resources, and the module's inside them) ---

mock_resource "aws_kinesis_stream" {
  defaults = {
    arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/orders"
  }
}

mock_resource "aws_kinesis_stream_consumer" {
  defaults = {
    arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/orders/consumer/orders:1700000000"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn     = "arn:aws:lambda:eu-west-1:111122223333:function:orders"
    version = "7"
  }
}

mock_resource "aws_lambda_alias" {
  defaults = {
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:orders:live"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/orders"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:eu-west-1:111122223333:orders-failures"
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-failures"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:eu-west-1:111122223333:orders-quarantine"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn    = "arn:aws:s3:::orders-failures-20240131120000000000000001"
    bucket = "orders-failures-20240131120000000000000001"
    id     = "orders-failures-20240131120000000000000001"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::111122223333:role/orders"
  }
}

mock_resource "aws_cloudwatch_metric_alarm" {
  defaults = {
    arn = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:orders"
  }
}

mock_resource "aws_lambda_event_source_mapping" {
  defaults = {
    uuid = "00000000-0000-4000-8000-000000000000"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn        = "arn:aws:dynamodb:eu-west-1:111122223333:table/shardsafe-table"
    stream_arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/shardsafe-table/stream/2024-01-31T12:00:00.000"
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

# The provider's region and account: the same as the mocked ARNs'.
mock_data "aws_service" {
  defaults = {
    region    = "eu-west-1"
    partition = "aws"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "111122223333"
  }
}

# An existing stream with Kinesis's default retention (24 h).
mock_data "aws_kinesis_stream" {
  defaults = {
    retention_period = 24
  }
}

# --- One ARN per resource of the module (root module runs) ---

override_resource {
  target = aws_kinesis_stream.this
  values = {
    arn  = "arn:aws:kinesis:eu-west-1:111122223333:stream/orders"
    name = "orders"
  }
}

override_resource {
  target = aws_sqs_queue.source
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:orders-source"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-source"
    name = "orders-source"
  }
}

override_resource {
  target = aws_sqs_queue.source_dead_letter
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:orders-source-dlq"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-source-dlq"
    name = "orders-source-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.quarantine
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:orders-failures"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-failures"
    name = "orders-failures"
  }
}

override_resource {
  target = aws_sqs_queue.quarantine_dead_letter
  values = {
    arn  = "arn:aws:sqs:eu-west-1:111122223333:orders-failures-dlq"
    url  = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-failures-dlq"
    name = "orders-failures-dlq"
  }
}

override_resource {
  target = aws_sns_topic.quarantine
  values = {
    arn  = "arn:aws:sns:eu-west-1:111122223333:orders-quarantine"
    name = "orders-quarantine"
  }
}

override_resource {
  target = aws_dynamodb_table.idempotency
  values = {
    arn  = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-idempotency"
    name = "orders-idempotency"
  }
}
