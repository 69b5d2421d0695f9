# --- Large-message payloads ---
# Producers using the SQS or SNS extended client put a pointer in the message and the payload in
# S3; the handler reads the payload from the buckets named here, and from no other (it is told
# their names), with s3:GetObject on their objects and s3:ListBucket on the buckets themselves:
# without ListBucket, S3 answers a GetObject of a missing key with 403 AccessDenied instead of 404
# NoSuchKey (GetObject API reference, "Permissions"), and the handler could not tell a pointer to a
# payload that is gone (poison) from a permission it lacks (not the record's fault).

locals {
  # Bucket ARNs are arn:<partition>:s3:::<name>.
  large_message_bucket_names = [for arn in var.large_message_buckets.bucket_arns : split(":::", arn)[1]]

  large_message_environment = length(var.large_message_buckets.bucket_arns) == 0 ? {} : {
    SHARDSAFE_LARGE_MESSAGE_BUCKETS = join(",", local.large_message_bucket_names)
  }

  large_message_statements = merge(
    length(var.large_message_buckets.bucket_arns) > 0 ? {
      LargeMessageRead = {
        actions    = ["s3:GetObject"]
        resources  = [for arn in var.large_message_buckets.bucket_arns : "${arn}/*"]
        conditions = []
      }
      LargeMessageList = {
        actions    = ["s3:ListBucket"]
        resources  = var.large_message_buckets.bucket_arns
        conditions = []
      }
    } : {},
    length(var.large_message_buckets.kms_key_arns) > 0 ? {
      LargeMessageKeyUse = {
        actions   = ["kms:Decrypt"]
        resources = var.large_message_buckets.kms_key_arns
        # One condition per test and variable: every key's region through S3.
        conditions = [{
          test     = "StringEquals"
          variable = "kms:ViaService"
          values   = distinct([for key in var.large_message_buckets.kms_key_arns : "s3.${split(":", key)[3]}.amazonaws.com"])
        }]
      }
    } : {},
  )
}
