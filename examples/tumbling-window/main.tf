# Stateful stream processing: a Kinesis stream read through a tumbling window. Lambda hands each
# invocation the window's state and keeps what the function returns; the function
# (templates/window_handler.py) counts the valid ticks of each partition key in the window and, at the
# window's end, writes the counts to the output bucket. Poison is quarantined, as ever, and never counts.

provider "aws" {
  region = var.region
}

# --- Output bucket ---

# Where each window's result is written (SHARDSAFE_OUTPUT_BUCKET).
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
  handler           = "window_handler.lambda_handler"
  alarm_actions     = var.alarm_actions

  event_source_mapping = {
    batch_size                 = var.batch_size
    tumbling_window_in_seconds = var.window_seconds
  }

  environment_variables = {
    SHARDSAFE_OUTPUT_BUCKET = aws_s3_bucket.output.id
  }
  role_policy_statements = {
    WriteOutput = {
      actions   = ["s3:PutObject"]
      resources = ["${aws_s3_bucket.output.arn}/*"]
      # every object of the example's own output bucket: a wildcard the module asks to acknowledge
      acknowledge_wildcard = true
    }
  }

  failure_destination = {
    # Example data: destroy removes the failure bucket with what it holds.
    force_destroy = true
  }
}
