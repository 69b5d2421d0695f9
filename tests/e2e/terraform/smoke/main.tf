# The smallest Kinesis -> Lambda pipeline, applied to LocalStack by tests/e2e/test_terraform_smoke.py
# to prove the toolchain: Terraform, the provider, LocalStack and the process executor.

terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "name" {
  description = "Name of the stream and the function."
  type        = string
}

variable "zip_path" {
  description = "Path of the function's zip."
  type        = string
}

provider "aws" {
  region = "us-east-1"
}

resource "aws_kinesis_stream" "this" {
  name        = var.name
  shard_count = 1
}

resource "aws_iam_role" "this" {
  name = var.name
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }]
  })
}

resource "aws_lambda_function" "this" {
  function_name    = var.name
  role             = aws_iam_role.this.arn
  runtime          = "python3.13"
  handler          = "app.handler"
  filename         = var.zip_path
  source_code_hash = filebase64sha256(var.zip_path)
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn  = aws_kinesis_stream.this.arn
  function_name     = aws_lambda_function.this.arn
  starting_position = "TRIM_HORIZON"
  batch_size        = 10
}

output "stream_name" {
  description = "Name of the stream."
  value       = aws_kinesis_stream.this.name
}

output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}
