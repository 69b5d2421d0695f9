# React to the changes of a DynamoDB table: the table's stream (new and old images) is the
# function's source, read as a Kinesis stream is (bisect, finite retries and record age), with the
# batches the mapping gives up on kept whole in the module's failure bucket, and the records the
# handler cannot process quarantined.

provider "aws" {
  region = var.region
}

# trivy:ignore:AVD-AWS-0025 The table's customer key is the caller's choice (table_kms_key_arn); without one the example deploys with no KMS key to create, on DynamoDB's default encryption.
resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS owned key by default; pass table_kms_key_arn for a customer managed key.
  name         = var.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  server_side_encryption {
    enabled     = var.table_kms_key_arn != null
    kms_key_arn = var.table_kms_key_arn
  }

  point_in_time_recovery {
    enabled = true
  }
}

module "pipeline" {
  source = "../../"

  name              = var.name
  function_zip_path = var.function_zip_path
  alarm_actions     = var.alarm_actions
  handler           = var.handler

  event_source = {
    kind        = "dynamodb"
    arn         = aws_dynamodb_table.this.stream_arn
    kms_key_arn = var.table_kms_key_arn
  }

  event_source_mapping = {
    batch_size             = var.batch_size
    maximum_retry_attempts = var.maximum_retry_attempts
  }

  failure_destination = {
    force_destroy = var.force_destroy
  }

  environment_variables  = var.environment_variables
  role_policy_statements = var.role_policy_statements
  tracing_mode           = var.tracing_mode
}
