# --- Idempotency table ---
# An optional DynamoDB table where the handler records the records it has acted on, so that one
# Lambda delivers again is acted on once; its name for the function, and the role's access to it.
# The layout is AWS Lambda Powertools' idempotency table (partition key "id", a string; time to
# live on "expiration"), so that a team using Powertools can share the table and its tooling.

locals {
  create_idempotency_table = var.idempotency_table.create
  idempotency_table_arn = (
    local.create_idempotency_table ? aws_dynamodb_table.idempotency[0].arn : var.idempotency_table.arn
  )
  # A table ARN is arn:<partition>:dynamodb:<region>:<account>:table/<name>.
  idempotency_table_name = (
    local.create_idempotency_table ? aws_dynamodb_table.idempotency[0].name
    : try(split("/", var.idempotency_table.arn)[1], null)
  )
  idempotency_kms_key_arn = local.idempotency_table_arn == null ? null : var.idempotency_table.kms_key_arn

  idempotency_environment = local.idempotency_table_arn == null ? {} : {
    SHARDSAFE_IDEMPOTENCY_TABLE = local.idempotency_table_name
  }

  # The item actions the idempotency layer calls, on the table only (no index, no stream): claims in
  # TransactWriteItems of Puts (authorised as dynamodb:PutItem: "Permissions for Put, Update, Delete,
  # and Get actions are governed by the permissions used for the underlying PutItem, UpdateItem,
  # DeleteItem, and GetItem operations", DynamoDB developer guide, transaction-apis-iam.html) or one
  # PutItem, completions as PutItem or BatchWriteItem, releases in BatchWriteItem, reads while waiting
  # in BatchGetItem. A function that also runs Powertools' idempotency on the table needs its
  # GetItem, UpdateItem and DeleteItem too: add them with role_policy_statements.
  # DynamoDB decrypts the table's key with the caller's kms:Decrypt when the table has a customer
  # key; items are then encrypted by DynamoDB with that table key, not by KMS calls of the caller.
  idempotency_statements = merge(
    local.idempotency_table_arn != null ? {
      IdempotencyTableReadWrite = {
        actions    = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem"]
        resources  = [local.idempotency_table_arn]
        conditions = []
      }
    } : {},
    local.idempotency_kms_key_arn != null ? {
      IdempotencyTableKeyUse = {
        actions    = ["kms:Decrypt"]
        resources  = [local.idempotency_kms_key_arn]
        conditions = [local.kms_via.dynamodb[local.idempotency_kms_key_arn]]
      }
    } : {},
  )
}

resource "aws_dynamodb_table" "idempotency" {
  # checkov:skip=CKV_AWS_119:A customer key is the caller's choice (idempotency_table.kms_key_arn); without one DynamoDB's AWS owned key encrypts the table, which holds record keys and their expiry.
  # checkov:skip=CKV_AWS_28:Point-in-time recovery is on by default (idempotency_table.point_in_time_recovery); turning it off is the caller's cost choice for a table of keys that expire.
  count = local.create_idempotency_table ? 1 : 0

  name         = coalesce(var.idempotency_table.name, "${var.name}-idempotency")
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  # Expired keys are deleted by DynamoDB (within days, not at once): the layer also reads the
  # expiry itself, as Powertools does.
  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  # With no key given, DynamoDB's own key (AWS owned) encrypts the table.
  server_side_encryption {
    enabled     = var.idempotency_table.kms_key_arn != null
    kms_key_arn = var.idempotency_table.kms_key_arn
  }

  point_in_time_recovery {
    enabled = var.idempotency_table.point_in_time_recovery
  }

  deletion_protection_enabled = var.idempotency_table.deletion_protection

  tags = var.tags
}
