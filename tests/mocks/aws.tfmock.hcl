# Realistic computed values for plan-level tests (mock_provider "aws" { source = "./tests/mocks" }):
# ARNs in the shapes AWS returns, so the module's ARN parsing and policy scoping can be asserted.

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
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:orders"
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

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}

# An existing stream with Kinesis's default retention (24 h).
mock_data "aws_kinesis_stream" {
  defaults = {
    retention_period = 24
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn        = "arn:aws:dynamodb:eu-west-1:111122223333:table/shardsafe-table"
    stream_arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/shardsafe-table/stream/2024-01-31T12:00:00.000"
  }
}
