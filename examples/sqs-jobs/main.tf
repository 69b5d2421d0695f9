# A job split into tasks on an SQS queue, run by shardsafe workers once each: the module creates the
# tasks queue (and its dead-letter queue), the worker function and its mapping, the quarantine queue
# and the idempotency table in which the workers claim and complete task ids. The jobs bucket keeps
# each job's manifest and its ledger, the side effect a task must have once. See README.md.

provider "aws" {
  region = var.region
}

# --- Jobs bucket ---

# trivy:ignore:AVD-AWS-0089 Access logging needs a second bucket; this one holds example ledgers only.
# trivy:ignore:AVD-AWS-0090 Versioning is not needed for an example's ledger.
# trivy:ignore:AVD-AWS-0132 SSE-S3 is enough for an example's ledger; examples/complete shows a customer key.
resource "aws_s3_bucket" "jobs" {
  # checkov:skip=CKV_AWS_18:Access logging needs a second bucket; this one holds example ledgers only.
  # checkov:skip=CKV_AWS_21:Versioning is not needed for an example's ledger.
  # checkov:skip=CKV_AWS_144:Cross-region replication is out of scope for an example.
  # checkov:skip=CKV_AWS_145:SSE-S3 is enough for an example's ledger; examples/complete shows a customer key.
  # checkov:skip=CKV2_AWS_61:An example's ledger; the module's failure bucket shows a lifecycle.
  # checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events in the example.
  bucket_prefix = "${var.name}-jobs-"
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "jobs" {
  bucket = aws_s3_bucket.jobs.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# trivy:ignore:AVD-AWS-0132 SSE-S3 is enough for an example's ledger; examples/complete shows a customer key.
resource "aws_s3_bucket_server_side_encryption_configuration" "jobs" {
  bucket = aws_s3_bucket.jobs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# --- Workers ---

# trivy:ignore:AVD-AWS-0025 The idempotency table holds task ids and their expiry, encrypted with DynamoDB's own key; idempotency_table.kms_key_arn takes a customer key (examples/complete passes one).
module "workers" {
  source = "../../"

  name              = var.name
  function_zip_path = var.function_zip_path
  handler           = "jobs.worker.lambda_handler"
  timeout           = var.timeout
  alarm_actions     = var.alarm_actions

  event_source = {
    kind = "sqs"
    queue = {
      max_receive_count = var.max_receive_count
    }
  }

  event_source_mapping = {
    batch_size          = var.batch_size
    maximum_concurrency = var.maximum_concurrency
  }

  # The table the workers claim task ids in, in AWS Lambda Powertools' layout; the function gets
  # its name (SHARDSAFE_IDEMPOTENCY_TABLE) and the item actions on it.
  idempotency_table = {
    create = true
  }

  # With a queue source the module's bucket keeps claim checks only.
  failure_destination = {
    force_destroy = var.force_destroy
  }

  environment_variables = {
    JOBS_BUCKET = aws_s3_bucket.jobs.id
  }
  role_policy_statements = {
    # Post ledger entries and the crash markers, and read a marker back (GetObject is HeadObject's
    # permission; ListBucket makes a missing marker a 404 rather than a 403). The objects of the
    # example's own bucket, named by its ARN: the wildcard is meant.
    JobsLedger = {
      actions              = ["s3:PutObject", "s3:GetObject"]
      resources            = ["${aws_s3_bucket.jobs.arn}/*"]
      acknowledge_wildcard = true
    }
    JobsBucketList = {
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.jobs.arn]
    }
  }
}
