# The module as production teams run it: a customer KMS key for all it stores, enhanced fan-out, a
# tuned mapping on a published version's alias, JSON logs, a failure destination (SQS or the
# module's S3 bucket, by failure_destination_kind), a quarantine with a dead-letter queue, an
# idempotency table, an S3 output bucket the function writes to (through the typed extra policy
# statements), alarms sent to an SNS topic, and the dashboard.
# `make demo` deploys this example on LocalStack; see README.md for what is gated and why.

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_root_arn = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"
}

# --- Encryption key ---

# One key for everything the example stores: stream, quarantine queue, failure bucket, function
# environment, log group, output bucket and alarm topic. The account administers it through IAM, as AWS's default
# key policy does; the two services that use it on their own behalf are named with conditions.
data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key; the account root administers it, as in AWS's default key policy.
  # checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key; the account root administers it, as in AWS's default key policy.
  # checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key; the account root administers it, as in AWS's default key policy.
  statement {
    sid       = "AccountAdministersKey"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.account_root_arn]
    }
  }

  # CloudWatch Logs encrypts the function's log group, and only it.
  statement {
    sid       = "CloudWatchLogsEncryptsLogGroup"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name_prefix}"]
    }
  }

  # CloudWatch alarms publish to the encrypted alarm topic.
  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${var.name_prefix}: everything the shardsafe example stores"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}

# --- Output bucket ---

# trivy:ignore:AVD-AWS-0089 Access logging needs a second bucket; this one holds example output only.
resource "aws_s3_bucket" "output" {
  # checkov:skip=CKV_AWS_18:Access logging needs a second bucket; this one holds example output only.
  # checkov:skip=CKV_AWS_144:Cross-region replication is out of scope for an example's output.
  # checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events in the example.
  bucket        = var.output_bucket_name
  bucket_prefix = var.output_bucket_name == null ? "${var.name_prefix}-out-" : null
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

resource "aws_s3_bucket_server_side_encryption_configuration" "output" {
  bucket = aws_s3_bucket.output.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "output" {
  bucket = aws_s3_bucket.output.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "output" {
  bucket = aws_s3_bucket.output.id

  rule {
    id     = "expire-example-output"
    status = "Enabled"

    filter {}

    expiration {
      days = 30
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

# --- Alarm topic ---

resource "aws_sns_topic" "alarms" {
  count = var.create_alarm_topic ? 1 : 0

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.this.arn
}

# --- Pipeline ---

module "pipeline" {
  source = "../../"

  name = var.name_prefix
  tags = { Project = "shardsafe", Example = "complete" }

  # Stream
  shard_count            = var.shard_count
  retention_period       = 48
  stream_kms_key_arn     = aws_kms_key.this.arn
  shard_level_metrics    = ["IncomingRecords", "IteratorAgeMilliseconds"]
  create_stream_consumer = var.enhanced_fan_out

  # Function
  function_zip_path              = var.lambda_zip_path
  handler                        = var.handler
  runtime                        = "python3.13"
  architecture                   = "x86_64"
  memory_size                    = 512
  timeout                        = 30
  reserved_concurrent_executions = var.reserved_concurrency
  layers                         = var.layer_arns
  ephemeral_storage_size         = 1024
  tracing_mode                   = "Active"
  function_kms_key_arn           = aws_kms_key.this.arn
  log_retention_in_days          = 14
  log_group_kms_key_arn          = aws_kms_key.this.arn
  metrics_namespace              = "shardsafe"
  environment_variables = {
    SHARDSAFE_OUTPUT_BUCKET = aws_s3_bucket.output.id
  }
  # JSON logs at INFO keep every line of the handler, its metrics included (docs/module.md).
  logging = { log_format = "JSON", application_log_level = "INFO" }
  # A version per deployment; the mapping invokes the alias, which moves to it.
  publish = true
  alias   = { name = "live" }
  # A function in a VPC: vpc = { subnet_ids = [...], security_group_ids = [...] }. Left out here:
  # the embedded LocalStack runs no EC2 (see README.md).

  # IAM: what the function does beyond the pipeline, typed and scoped.
  role_policy_statements = {
    # Every object of the output bucket: a wildcard, so acknowledged (the module refuses it otherwise).
    WriteOutput = {
      actions              = ["s3:PutObject"]
      resources            = ["${aws_s3_bucket.output.arn}/*"]
      acknowledge_wildcard = true
    }
    OutputKeyUse = {
      actions   = ["kms:GenerateDataKey"]
      resources = [aws_kms_key.this.arn]
      conditions = [{
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${var.region}.amazonaws.com"]
      }]
    }
  }

  # Event source mapping
  event_source_mapping = {
    batch_size                         = 100
    maximum_batching_window_in_seconds = 1
    starting_position                  = "TRIM_HORIZON"
    parallelization_factor             = 2
    bisect_batch_on_function_error     = true
    maximum_retry_attempts             = var.maximum_retry_attempts
    maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
    report_batch_item_failures         = true
    filter_patterns                    = var.filter_patterns
  }

  # Failure destination: "sqs" is the quarantine queue (the key is the queue's); "s3" is the module's
  # failure bucket, encrypted with the example's key, also the claim-check store.
  failure_destination = {
    kind           = var.failure_destination_kind
    kms_key_arn    = var.failure_destination_kind == "s3" ? aws_kms_key.this.arn : null
    retention_days = var.failure_destination_kind == "s3" ? 14 : null
    # Example data: destroy removes the bucket with its objects.
    force_destroy = true
  }

  # Quarantine queue, with a dead-letter queue for envelopes a reader keeps failing on
  quarantine = {
    kms_key_arn               = aws_kms_key.this.arn
    message_retention_seconds = 1209600
    dead_letter               = { max_receive_count = 10 }
  }

  # Idempotency table (Powertools' layout), encrypted with the example's key
  idempotency_table = {
    create      = true
    kms_key_arn = aws_kms_key.this.arn
  }

  # Alarms and dashboard
  alarm_actions                       = aws_sns_topic.alarms[*].arn
  ok_actions                          = aws_sns_topic.alarms[*].arn
  iterator_age_alarm_threshold_ms     = 30000
  quarantined_records_alarm_threshold = 0
  alarm_evaluation_periods            = 1
  duration_alarm_threshold_percent    = 80
  create_dashboard                    = var.create_dashboard
}
