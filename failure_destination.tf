# --- Failure destination ---
# Where the event source mapping sends the records it gives up on: the failure bucket the module
# creates (records kept whole), an existing bucket, queue or topic, or the quarantine queue; and
# what the role needs to write there.

locals {
  destination_kind = var.failure_destination.kind

  # kind "s3" without an ARN: the module's failure bucket. kind "sqs" without an ARN: the quarantine
  # queue doubles as destination (the module's behaviour before the failure bucket). kind "sns"
  # always names an existing topic (the variable's validation).
  create_failure_bucket = local.destination_kind == "s3" && var.failure_destination.arn == null
  uses_quarantine_queue = local.destination_kind == "sqs" && var.failure_destination.arn == null

  # S3 ARNs carry the bucket name and no region or account: arn:<partition>:s3:::<name>.
  failure_bucket_arn = (
    local.create_failure_bucket ? aws_s3_bucket.failures[0].arn
    : local.destination_kind == "s3" ? var.failure_destination.arn : null
  )
  failure_bucket_name = (
    local.create_failure_bucket ? aws_s3_bucket.failures[0].bucket
    : local.destination_kind == "s3" ? try(split(":::", var.failure_destination.arn)[1], null) : null
  )

  failure_destination_arn = (
    local.destination_kind == "s3" ? local.failure_bucket_arn
    : local.uses_quarantine_queue ? local.quarantine_queue_arn : var.failure_destination.arn
  )
  failure_destination_kms_key_arn = local.uses_quarantine_queue ? local.quarantine_kms_key_arn : var.failure_destination.kms_key_arn

  # Bucket names are lowercase letters, digits, '.' and '-'; bucket_prefix takes at most 37 characters.
  failure_bucket_prefix = "${substr(trim(lower(replace(var.name, "_", "-")), "-"), 0, 27)}-failures-"

  # AWS's warning for S3 destinations: a bucket that is deleted and re-created under the same name
  # by another account would receive the function's records. Every S3 write of the role therefore
  # holds only for buckets of the function's own account.
  # https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html
  own_account_buckets_only = {
    test     = "StringEquals"
    variable = "s3:ResourceAccount"
    values   = [local.account_id]
  }

  # What the mapping needs to write to its on-failure destination, by kind, as AWS documents it
  # (https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html): S3
  # s3:PutObject and s3:ListBucket, SQS sqs:SendMessage, SNS sns:Publish; with a customer key,
  # kms:GenerateDataKey for S3, kms:Decrypt and kms:GenerateDataKey for SQS and SNS.
  # Lambda writes its S3 objects under aws/lambda/<mapping UUID>/, and only there may it write.
  # A queue source has no on-failure destination (its dead-letter queue is SQS's own).
  failure_destination_statements = !local.source_is_stream ? {} : merge(
    local.destination_kind == "s3" ? {
      FailureBucketList = {
        actions    = ["s3:ListBucket"]
        resources  = [local.failure_bucket_arn]
        conditions = [local.own_account_buckets_only]
      }
      FailureBucketWrite = {
        actions    = ["s3:PutObject"]
        resources  = ["${local.failure_bucket_arn}/aws/lambda/*"]
        conditions = [local.own_account_buckets_only]
      }
    } : {},
    local.destination_kind == "sqs" ? {
      FailureQueueSend = {
        actions    = ["sqs:SendMessage"]
        resources  = [local.failure_destination_arn]
        conditions = []
      }
    } : {},
    local.destination_kind == "sns" ? {
      FailureTopicPublish = {
        actions    = ["sns:Publish"]
        resources  = [local.failure_destination_arn]
        conditions = []
      }
    } : {},
    local.failure_destination_kms_key_arn != null ? {
      (lookup({ s3 = "FailureBucketKeyUse", sqs = "FailureQueueKeyUse", sns = "FailureTopicKeyUse" }, local.destination_kind)) = {
        actions    = local.destination_kind == "s3" ? ["kms:GenerateDataKey"] : ["kms:Decrypt", "kms:GenerateDataKey"]
        resources  = [local.failure_destination_kms_key_arn]
        conditions = [local.kms_via[local.destination_kind][local.failure_destination_kms_key_arn]]
      }
    } : {},
  )

  # The failure bucket's policy, rendered here (not by a data source) so that the plan tests read
  # the document attached to the bucket: no request without TLS.
  failure_bucket_policy_json = local.create_failure_bucket ? jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.failures[0].arn, "${aws_s3_bucket.failures[0].arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  }) : null
}

# trivy:ignore:AVD-AWS-0089 Access logging needs a second bucket the caller owns (or CloudTrail data events, the caller's choice); only the mapping and the function write here.
# trivy:ignore:AVD-AWS-0090 Objects are written once under unique keys (Lambda's carry a UUID) and never overwritten; versioning would only keep what redrive deletes once it has written the records back.
resource "aws_s3_bucket" "failures" {
  # checkov:skip=CKV_AWS_18:Access logging needs a second bucket the caller owns (or CloudTrail data events, the caller's choice); only the mapping and the function write here.
  # checkov:skip=CKV_AWS_21:Objects are written once under unique keys (Lambda's carry a UUID) and never overwritten; versioning would only keep what redrive deletes once it has written the records back.
  # checkov:skip=CKV_AWS_144:Cross-region replication is the caller's disaster-recovery choice; the records also stay in the stream until its retention ends.
  # checkov:skip=CKV_AWS_145:SSE-S3 unless failure_destination.kms_key_arn names a customer key, as the module promises; pass one for SSE-KMS.
  # checkov:skip=CKV2_AWS_62:Nothing has to react to a failed batch at once: the failure-destination alarm reports it, and redrive reads the bucket.
  count = local.create_failure_bucket ? 1 : 0

  bucket_prefix = local.failure_bucket_prefix
  force_destroy = var.failure_destination.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  # ACLs off: every object belongs to the bucket's account, whoever wrote it.
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.failure_destination.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.failure_destination.kms_key_arn
    }
    # One data key per bucket rather than per object: fewer KMS calls for the same protection.
    bucket_key_enabled = var.failure_destination.kms_key_arn == null ? null : true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id

  rule {
    id     = "expire-failed-records"
    status = "Enabled"

    filter {}

    expiration {
      days = coalesce(var.failure_destination.retention_days, 30)
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "failures" {
  count = local.create_failure_bucket ? 1 : 0

  bucket = aws_s3_bucket.failures[0].id
  policy = local.failure_bucket_policy_json

  # S3 rejects concurrent changes to one bucket's configuration.
  depends_on = [aws_s3_bucket_public_access_block.failures]
}
