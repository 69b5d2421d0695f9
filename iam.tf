# --- IAM ---
# The execution role and its one inline policy: the statements each concern grants (source.tf,
# function.tf, failure_destination.tf, quarantine.tf, idempotency.tf, large_messages.tf) and the
# caller's role_policy_statements, rendered here so that the plan shows, and the tests read, the
# document the role gets.

locals {
  # A customer key may be used only through the service that encrypts with it, in the key's region
  # (kms:ViaService, https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service):
  # the role cannot decrypt with it by calling KMS directly.
  kms_keys = distinct(compact(concat(
    [local.source_kms_key_arn, local.quarantine_kms_key_arn, local.failure_destination_kms_key_arn, local.claim_check_kms_key_arn, local.idempotency_kms_key_arn],
    var.large_message_buckets.kms_key_arns,
  )))
  kms_via = {
    for service in ["kinesis", "dynamodb", "sqs", "s3", "sns"] : service => {
      for key in local.kms_keys : key => {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["${service}.${split(":", key)[3]}.amazonaws.com"]
      }
    }
  }

  # Every statement is scoped to a resource the module made or was given. Only what AWS cannot
  # scope takes "*": X-Ray's writes, and the Describe actions of a function in a VPC.
  module_policy_statements = merge(
    local.source_policy_statements,
    local.function_policy_statements,
    local.failure_destination_statements,
    local.quarantine_policy_statements,
    local.claim_check_statements,
    local.idempotency_statements,
    local.large_message_statements,
  )

  # The ids of every statement the module can make: role_policy_statements may not use them
  # (variables.tf), and tests/iam.tftest.hcl checks that every statement made is listed.
  module_statement_ids = [
    "KinesisStreamRead", "KinesisConsumerRead", "StreamKeyDecrypt", "DynamoDBStreamRead", "SourceQueueConsume", "SourceKeyDecrypt",
    "LogsWrite", "XRayWrite", "VpcNetworkInterfacesDescribe", "VpcNetworkInterfacesManage",
    "FailureBucketList", "FailureBucketWrite", "FailureQueueSend", "FailureTopicPublish", "FailureBucketKeyUse", "FailureQueueKeyUse", "FailureTopicKeyUse",
    "QuarantineQueueSend", "QuarantineQueueKeyUse", "QuarantineTopicPublish", "QuarantineTopicKeyUse", "ClaimCheckWrite", "ClaimCheckKeyUse",
    "IdempotencyTableReadWrite", "IdempotencyTableKeyUse", "LargeMessageRead", "LargeMessageList", "LargeMessageKeyUse",
  ]

  # The caller's statements come first and the module's last, so that a statement id the variable's
  # validation missed could still not replace one of the module's.
  role_policy_statements = merge(
    {
      for sid, statement in var.role_policy_statements : sid => {
        effect     = statement.effect
        actions    = statement.actions
        resources  = statement.resources
        conditions = statement.conditions
      }
    },
    { for sid, statement in local.module_policy_statements : sid => merge(statement, { effect = "Allow" }) },
  )

  # Rendered here rather than by a data source, so that the document attached to the role is
  # known at plan time and the plan tests read the statements the role actually gets.
  role_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for sid, statement in local.role_policy_statements : merge(
        {
          Sid      = sid
          Effect   = statement.effect
          Action   = sort(statement.actions)
          Resource = sort(statement.resources)
        },
        length(statement.conditions) == 0 ? {} : {
          Condition = {
            for test in distinct([for condition in statement.conditions : condition.test]) : test => {
              for condition in statement.conditions : condition.variable => condition.values if condition.test == test
            }
          }
        },
      )
    ]
  })

  assume_role_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaAssumeRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = coalesce(var.role_name, var.name)
  path                 = var.role_path
  description          = "Execution role of the shardsafe function ${var.name}"
  assume_role_policy   = local.assume_role_policy_json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.create_role ? 1 : 0

  name   = "shardsafe-pipeline"
  role   = aws_iam_role.this[0].id
  policy = local.role_policy_json
}

# Managed policies the caller attaches for what the function does beyond the pipeline (keyed by
# ARN, so that adding one never replaces another).
resource "aws_iam_role_policy_attachment" "this" {
  for_each = var.create_role ? toset(var.role_managed_policy_arns) : toset([])

  role       = aws_iam_role.this[0].name
  policy_arn = each.value
}
