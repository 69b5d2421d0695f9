# --- Function ---
# The function, its log group, its network (VPC), its published version and alias, and what the
# role needs for each: writing its logs and traces, and managing the network interfaces of a VPC.

locals {
  # The module's variables come last so that they always win; the variable's validation rejects
  # user values for them rather than dropping them silently. Each concern adds its own
  # (quarantine.tf, idempotency.tf, large_messages.tf, mapping.tf).
  function_environment = merge(
    var.environment_variables,
    { SHARDSAFE_METRICS_NAMESPACE = var.metrics_namespace },
    local.mapping_environment,
    local.quarantine_environment,
    local.claim_check_environment,
    local.idempotency_environment,
    local.large_message_environment,
  )

  # Every variable the module sets, whether or not this configuration sets it: environment_variables
  # may set none of them.
  reserved_environment_variables = [
    "SHARDSAFE_METRICS_NAMESPACE", "SHARDSAFE_REPORT_BATCH_ITEM_FAILURES",
    "SHARDSAFE_QUARANTINE_SINK", "SHARDSAFE_QUARANTINE_QUEUE_URL", "SHARDSAFE_QUARANTINE_TOPIC_ARN",
    "SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES", "SHARDSAFE_CLAIM_CHECK_BUCKET", "SHARDSAFE_CLAIM_CHECK_PREFIX",
    "SHARDSAFE_IDEMPOTENCY_TABLE", "SHARDSAFE_LARGE_MESSAGE_BUCKETS",
  ]

  # What the mapping invokes: the alias when there is one (so that a new version is taken up only
  # when the alias moves), else the function.
  function_qualified_arn = var.alias != null ? aws_lambda_alias.this[0].arn : aws_lambda_function.this.arn

  function_policy_statements = merge(
    {
      LogsWrite = {
        actions    = ["logs:CreateLogStream", "logs:PutLogEvents"]
        resources  = ["${aws_cloudwatch_log_group.this.arn}:*"]
        conditions = []
      }
    },
    # X-Ray's write actions support no resource-level permissions: they take "*".
    var.tracing_mode == "Active" ? {
      XRayWrite = {
        actions    = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        resources  = ["*"]
        conditions = []
      }
    } : {},
    # Lambda creates and deletes the function's network interfaces with the execution role
    # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html, "Required IAM
    # permissions"): ec2:DescribeNetworkInterfaces "only works if it's allowed on all resources",
    # and DescribeSubnets, like every Describe action, has no resource-level permission; the others
    # are held to this account and region, the form AWS shows for DeleteNetworkInterface
    # (arn:aws:ec2:<region>:<account>:*/*), which covers the subnets, security groups and
    # interfaces they act on.
    var.vpc != null ? {
      VpcNetworkInterfacesDescribe = {
        actions    = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
        resources  = ["*"]
        conditions = []
      }
      VpcNetworkInterfacesManage = {
        actions    = ["ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"]
        resources  = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:*/*"]
        conditions = []
      }
    } : {},
  )
}

# Created before the function so that Lambda does not create it without retention, and
# destroyed with the module rather than left behind.
resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338:Retention is the caller's cost decision (log_retention_in_days, 30 days by default); every CloudWatch value up to 10 years is accepted.

  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.log_group_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:A function DLQ serves only asynchronous invocations; a stream's failed batches go to the mapping's on-failure destination (failure_destination).
  # checkov:skip=CKV_AWS_117:A VPC is the caller's choice (var.vpc): the function reaches its AWS services over their TLS endpoints and serves no network, so a VPC adds NAT or endpoints, not isolation.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the deployed package is pinned by source_code_hash.

  function_name = var.name
  role          = local.role_arn

  filename         = var.function_zip_path
  source_code_hash = filebase64sha256(var.function_zip_path)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  layers           = local.function_layers
  publish          = var.publish

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.function_kms_key_arn

  ephemeral_storage {
    size = var.ephemeral_storage_size
  }

  environment {
    variables = local.function_environment
  }

  # The handler's lines are JSON on stdout with a "level" key; what each choice keeps of them is in
  # the variable's description (and docs/module.md).
  logging_config {
    log_group             = aws_cloudwatch_log_group.this.name
    log_format            = var.logging.log_format
    application_log_level = var.logging.log_format == "JSON" ? coalesce(var.logging.application_log_level, "INFO") : null
    system_log_level      = var.logging.log_format == "JSON" ? coalesce(var.logging.system_log_level, "INFO") : null
  }

  dynamic "vpc_config" {
    for_each = var.vpc != null ? [var.vpc] : []

    content {
      subnet_ids                  = vpc_config.value.subnet_ids
      security_group_ids          = vpc_config.value.security_group_ids
      ipv6_allowed_for_dual_stack = vpc_config.value.ipv6_allowed_for_dual_stack
    }
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The log group must exist before the first invocation, and the role's policy (with the ENI
  # permissions of a VPC function) before Lambda checks it and the mapping starts invoking.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.this,
  ]
}

# The version the alias points at is the one this apply published: the mapping, invoking the
# alias, moves to the new code with it.
resource "aws_lambda_alias" "this" {
  count = var.alias != null ? 1 : 0

  name             = var.alias.name
  description      = coalesce(var.alias.description, "The version of ${var.name} the event source mapping invokes")
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

# Lambda counts a line without a known "level" as INFO (monitoring-cloudwatchlogs-log-level.html):
# above INFO it drops the handler's summaries and its EMF metric lines.
check "log_level_keeps_the_metrics" {
  assert {
    condition     = var.logging.log_format != "JSON" || contains(["TRACE", "DEBUG", "INFO"], coalesce(var.logging.application_log_level, "INFO"))
    error_message = "logging.application_log_level ${coalesce(var.logging.application_log_level, "INFO")} makes Lambda drop the handler's INFO lines, its EMF metric lines among them: RecordsProcessed, RecordsQuarantined and BatchDuration go unrecorded, the records_quarantined alarm never fires and the dashboard's counts stay empty. Quarantined records are still alarmed by the quarantine queue's depth. Use INFO to keep them."
  }
}
