# --- General ---

locals {
  # Existing resources are named by ARN; their names are the ARN's last part.
  stream_arn  = var.create_stream ? aws_kinesis_stream.this[0].arn : var.stream_arn
  stream_name = var.create_stream ? aws_kinesis_stream.this[0].name : try(split("/", var.stream_arn)[1], null)

  failure_queue_arn  = var.create_failure_queue ? aws_sqs_queue.on_failure[0].arn : var.failure_queue_arn
  failure_queue_url  = var.create_failure_queue ? aws_sqs_queue.on_failure[0].url : var.failure_queue_url
  failure_queue_name = var.create_failure_queue ? aws_sqs_queue.on_failure[0].name : try(split(":", var.failure_queue_arn)[5], null)

  role_arn = var.create_role ? aws_iam_role.this[0].arn : var.role_arn
}

# --- Stream ---

resource "aws_kinesis_stream" "this" {
  count = var.create_stream ? 1 : 0

  name             = coalesce(var.stream_name, var.name)
  shard_count      = var.stream_mode == "PROVISIONED" ? var.shard_count : null
  retention_period = var.retention_period

  encryption_type = var.stream_encryption_enabled ? "KMS" : "NONE"
  kms_key_id      = var.stream_encryption_enabled ? coalesce(var.stream_kms_key_arn, "alias/aws/kinesis") : null

  shard_level_metrics = var.shard_level_metrics

  stream_mode_details {
    stream_mode = var.stream_mode
  }

  tags = var.tags
}

resource "aws_kinesis_stream_consumer" "this" {
  count = var.create_stream_consumer ? 1 : 0

  name       = coalesce(var.stream_consumer_name, var.name)
  stream_arn = local.stream_arn
}

locals {
  # With enhanced fan-out the mapping reads through the consumer, not the shared stream.
  event_source_arn = var.create_stream_consumer ? aws_kinesis_stream_consumer.this[0].arn : local.stream_arn

  # The key the function must decrypt records with: a customer key of the created stream, or the
  # key of an existing stream. The AWS managed key needs no grant: its key policy admits every
  # principal of the account that calls through Kinesis.
  stream_kms_key_arn = (!var.create_stream || var.stream_encryption_enabled) ? var.stream_kms_key_arn : null
}

# --- Function ---

locals {
  # The module's variables come last so that they always win; the variable's validation rejects
  # user values for them rather than dropping them silently.
  # Lambda reads the handler's batchItemFailures only when the mapping reports them; otherwise the
  # handler must retry in process, or the records it hands back would be lost.
  function_environment = merge(var.environment_variables, {
    SHARDSAFE_QUARANTINE_QUEUE_URL       = local.failure_queue_url
    SHARDSAFE_METRICS_NAMESPACE          = var.metrics_namespace
    SHARDSAFE_REPORT_BATCH_ITEM_FAILURES = tostring(var.event_source_mapping.report_batch_item_failures)
  })
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
  # checkov:skip=CKV_AWS_116:A function DLQ serves only asynchronous invocations; a stream's failed batches go to the mapping's on-failure destination, the failure queue.
  # checkov:skip=CKV_AWS_117:The function reaches Kinesis, SQS, CloudWatch and X-Ray over their TLS endpoints and serves no network; a VPC would add NAT or endpoints, not isolation.
  # checkov:skip=CKV_AWS_272:Code signing needs a signing profile the caller owns; the deployed package is pinned by source_code_hash.

  function_name = var.name
  role          = local.role_arn

  filename         = var.function_zip_path
  source_code_hash = filebase64sha256(var.function_zip_path)
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  layers           = var.layers

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.function_kms_key_arn

  environment {
    variables = local.function_environment
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = var.tags

  # The log group must exist before the first invocation, and the role's policy before the
  # mapping starts invoking.
  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

# --- IAM ---

locals {
  # Every statement is scoped to a resource the module made or was given; only X-Ray's write
  # actions, which support no resource-level permissions, take "*".
  module_policy_statements = merge(
    {
      KinesisStreamRead = {
        effect     = "Allow"
        actions    = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"]
        resources  = [local.stream_arn]
        conditions = []
      }
      FailureQueueSend = {
        effect     = "Allow"
        actions    = ["sqs:SendMessage"]
        resources  = [local.failure_queue_arn]
        conditions = []
      }
      LogsWrite = {
        effect     = "Allow"
        actions    = ["logs:CreateLogStream", "logs:PutLogEvents"]
        resources  = ["${aws_cloudwatch_log_group.this.arn}:*"]
        conditions = []
      }
    },
    var.create_stream_consumer ? {
      KinesisConsumerRead = {
        effect     = "Allow"
        actions    = ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"]
        resources  = [aws_kinesis_stream_consumer.this[0].arn]
        conditions = []
      }
    } : {},
    local.stream_kms_key_arn != null ? {
      StreamKeyDecrypt = {
        effect     = "Allow"
        actions    = ["kms:Decrypt"]
        resources  = [local.stream_kms_key_arn]
        conditions = []
      }
    } : {},
    var.failure_queue_kms_key_arn != null ? {
      FailureQueueKeyUse = {
        effect     = "Allow"
        actions    = ["kms:Decrypt", "kms:GenerateDataKey"]
        resources  = [var.failure_queue_kms_key_arn]
        conditions = []
      }
    } : {},
    var.tracing_mode == "Active" ? {
      XRayWrite = {
        effect     = "Allow"
        actions    = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        resources  = ["*"]
        conditions = []
      }
    } : {},
  )

  role_policy_statements = merge(local.module_policy_statements, var.role_policy_statements)
}

data "aws_iam_policy_document" "assume_role" {
  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# Rendered even when the caller brings the role, so that role_policy_json tells them what to attach.
data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = local.role_policy_statements

    content {
      sid       = statement.key
      effect    = statement.value.effect
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create_role ? 1 : 0

  name                 = coalesce(var.role_name, var.name)
  description          = "Execution role of the shardsafe function ${var.name}"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  permissions_boundary = var.role_permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  count = var.create_role ? 1 : 0

  name   = "shardsafe-pipeline"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.this.json
}

# --- Event source mapping ---

resource "aws_lambda_event_source_mapping" "this" {
  function_name    = aws_lambda_function.this.arn
  event_source_arn = local.event_source_arn
  enabled          = var.event_source_mapping.enabled

  batch_size                         = var.event_source_mapping.batch_size
  maximum_batching_window_in_seconds = var.event_source_mapping.maximum_batching_window_in_seconds
  starting_position                  = var.event_source_mapping.starting_position
  starting_position_timestamp        = var.event_source_mapping.starting_position_timestamp
  parallelization_factor             = var.event_source_mapping.parallelization_factor
  tumbling_window_in_seconds         = var.event_source_mapping.tumbling_window_in_seconds

  # A failing batch is split until the bad record is alone, retried a finite number of times,
  # then reported to the failure queue, so one record never stalls its shard.
  bisect_batch_on_function_error = var.event_source_mapping.bisect_batch_on_function_error
  maximum_retry_attempts         = var.event_source_mapping.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.event_source_mapping.maximum_record_age_in_seconds
  function_response_types        = var.event_source_mapping.report_batch_item_failures ? ["ReportBatchItemFailures"] : []

  destination_config {
    on_failure {
      destination_arn = local.failure_queue_arn
    }
  }

  dynamic "filter_criteria" {
    for_each = length(var.event_source_mapping.filter_patterns) > 0 ? [var.event_source_mapping.filter_patterns] : []

    content {
      dynamic "filter" {
        for_each = toset(filter_criteria.value)

        content {
          pattern = filter.value
        }
      }
    }
  }

  tags = var.tags

  # Lambda checks at creation that the role can read the stream and write to the destination.
  depends_on = [aws_iam_role_policy.this]
}

# --- Failure queue ---

resource "aws_sqs_queue" "on_failure" {
  count = var.create_failure_queue ? 1 : 0

  name                      = "${var.name}-failures"
  message_retention_seconds = var.failure_queue_message_retention_seconds
  # Long enough for a redrive function with this function's timeout to work a message
  # (AWS advises six times the timeout), within the SQS maximum of 12 hours.
  visibility_timeout_seconds = min(max(6 * var.timeout, 30), 43200)

  sqs_managed_sse_enabled           = var.failure_queue_kms_key_arn == null ? true : null
  kms_master_key_id                 = var.failure_queue_kms_key_arn
  kms_data_key_reuse_period_seconds = var.failure_queue_kms_key_arn == null ? null : 300

  tags = var.tags
}

# --- Alarms and dashboard ---

locals {
  function_dimensions = { FunctionName = aws_lambda_function.this.function_name }

  alarms = var.create_alarms ? {
    iterator_age = {
      description = "The function is falling behind: the newest record it read is more than ${var.iterator_age_alarm_threshold_ms} ms old."
      namespace   = "AWS/Lambda"
      metric_name = "IteratorAge"
      statistic   = "Maximum"
      dimensions  = local.function_dimensions
      threshold   = var.iterator_age_alarm_threshold_ms
    }
    errors = {
      description = "The function failed whole batches (they are bisected and retried, then reported to the failure queue)."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      statistic   = "Sum"
      dimensions  = local.function_dimensions
      threshold   = var.errors_alarm_threshold
    }
    throttles = {
      description = "Invocations of the function were throttled: the stream is read more slowly than it could be."
      namespace   = "AWS/Lambda"
      metric_name = "Throttles"
      statistic   = "Sum"
      dimensions  = local.function_dimensions
      threshold   = var.throttles_alarm_threshold
    }
    failure_queue_depth = {
      description = "Records wait in the failure queue ${coalesce(local.failure_queue_name, "(existing)")}: inspect and redrive them."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = local.failure_queue_name }
      threshold   = var.failure_queue_alarm_threshold
    }
    records_quarantined = {
      description = "The handler quarantined records it could not process (payloads are in the failure queue)."
      namespace   = var.metrics_namespace
      metric_name = "RecordsQuarantined"
      statistic   = "Sum"
      dimensions  = local.function_dimensions
      threshold   = var.quarantined_records_alarm_threshold
    }
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${var.name}-${replace(each.key, "_", "-")}"
  alarm_description = each.value.description

  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  statistic           = each.value.statistic
  dimensions          = each.value.dimensions
  period              = var.alarm_period_seconds
  evaluation_periods  = var.alarm_evaluation_periods
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  # No data means no traffic, errors or quarantined records: not a problem.
  treat_missing_data = "notBreaching"

  alarm_actions = var.alarm_actions
  ok_actions    = var.ok_actions

  tags = var.tags
}

locals {
  # The dashboard's region is the function's, read from its ARN
  # (arn:<partition>:lambda:<region>:<account>:function:<name>).
  dashboard_region = split(":", aws_lambda_function.this.arn)[3]

  function_name = aws_lambda_function.this.function_name

  dashboard_widgets = concat(
    var.create_alarms ? [{
      type   = "alarm"
      width  = 24
      height = 3
      properties = {
        title  = "Alarms"
        alarms = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.arn]
      }
    }] : [],
    [
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Iterator age (ms): how far behind the stream the function is"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/Lambda", "IteratorAge", "FunctionName", local.function_name]]
          annotations = {
            horizontal = [{ label = "alarm threshold", value = var.iterator_age_alarm_threshold_ms }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Records: processed, retried, quarantined"
          region = local.dashboard_region
          view   = "timeSeries"
          stat   = "Sum"
          period = 60
          metrics = [
            [var.metrics_namespace, "RecordsProcessed", "FunctionName", local.function_name],
            [var.metrics_namespace, "RecordsRetried", "FunctionName", local.function_name],
            [var.metrics_namespace, "RecordsQuarantined", "FunctionName", local.function_name],
          ]
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Function: invocations, errors, throttles"
          region = local.dashboard_region
          view   = "timeSeries"
          stat   = "Sum"
          period = 60
          metrics = [
            ["AWS/Lambda", "Invocations", "FunctionName", local.function_name],
            ["AWS/Lambda", "Errors", "FunctionName", local.function_name],
            ["AWS/Lambda", "Throttles", "FunctionName", local.function_name],
          ]
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Failure queue: messages waiting"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.failure_queue_name]]
          annotations = {
            horizontal = [{ label = "alarm threshold", value = var.failure_queue_alarm_threshold }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Batch duration (ms): handler and function"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 60
          metrics = [
            [var.metrics_namespace, "BatchDuration", "FunctionName", local.function_name, { stat = "p99", label = "handler p99" }],
            ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "Maximum", label = "function maximum" }],
          ]
          annotations = {
            horizontal = [{ label = "timeout", value = var.timeout * 1000 }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Concurrent executions"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/Lambda", "ConcurrentExecutions", "FunctionName", local.function_name]]
        }
      },
    ],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
