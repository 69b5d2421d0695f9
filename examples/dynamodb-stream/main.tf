# React to the changes of a DynamoDB table: the table's stream (new and old images) is the
# function's source, read as a Kinesis stream is (bisect, finite retries and record age), with the
# batches the mapping gives up on kept whole in the module's failure bucket, and the records the
# handler cannot process quarantined. The function is templates/dynamodb_handler.py: it validates each
# changed item and writes it to the output bucket, one object per table and sequence number.

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

# --- Output bucket ---

# Where the handler writes each change it processed (SHARDSAFE_OUTPUT_BUCKET).
# trivy:ignore:AVD-AWS-0089 Access logging needs a second bucket; this one holds example output only.
# trivy:ignore:AVD-AWS-0090 Versioning is not needed for example output that is rewritten on retry.
# trivy:ignore:AVD-AWS-0132 SSE-S3 is enough for example output; examples/complete shows a customer key.
resource "aws_s3_bucket" "output" {
  # checkov:skip=CKV_AWS_18:Access logging needs a second bucket; this one holds example output only.
  # checkov:skip=CKV_AWS_21:Versioning is not needed for example output that is rewritten on retry.
  # checkov:skip=CKV_AWS_144:Cross-region replication is out of scope for an example's output.
  # checkov:skip=CKV_AWS_145:SSE-S3 is enough for example output; examples/complete shows a customer key.
  # checkov:skip=CKV2_AWS_61:Example output; the module's failure bucket shows a lifecycle.
  # checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events in the example.
  bucket_prefix = "${var.name}-out-"
  # Example data: destroy removes the bucket with its objects.
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "output" {
  bucket = aws_s3_bucket.output.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# trivy:ignore:AVD-AWS-0132 A user's first deploy needs no KMS key: the example's output bucket uses SSE-S3; the module's own buckets and queues take a customer key.
resource "aws_s3_bucket_server_side_encryption_configuration" "output" {
  bucket = aws_s3_bucket.output.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# --- Pipeline ---

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

  environment_variables = merge({ SHARDSAFE_OUTPUT_BUCKET = aws_s3_bucket.output.id }, var.environment_variables)
  role_policy_statements = merge({
    WriteOutput = {
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.output.arn}/*"]
      # every object of the example's own output bucket: a wildcard the module asks to acknowledge
      acknowledge_wildcard = true
    }
  }, var.role_policy_statements)
  tracing_mode = var.tracing_mode
}
