# --- Dashboard ---
# One CloudWatch dashboard of the pipeline: the source's lag, the handler's record counts, the
# function's health and duration, the quarantine, and what the mapping gave up on or dropped.

locals {
  # Dashboards are global to the account: one per region of the same function name needs its own name.
  dashboard_name   = coalesce(var.dashboard_name, "${var.name}-${local.region}")
  dashboard_region = local.region

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
      local.source_is_stream ? {
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
        } : {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title   = "Source queue: age of the oldest message (s)"
          region  = local.dashboard_region
          view    = "timeSeries"
          stat    = "Maximum"
          period  = 60
          metrics = [["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", local.source_queue_name]]
          annotations = {
            horizontal = [{ label = "alarm threshold", value = var.source_queue_age_alarm_threshold_seconds }]
          }
        }
      },
      {
        type   = "metric"
        width  = 12
        height = 6
        properties = {
          title  = "Records: processed, skipped, handed back, quarantined"
          region = local.dashboard_region
          view   = "timeSeries"
          stat   = "Sum"
          period = 60
          metrics = [
            [var.metrics_namespace, "RecordsProcessed", "FunctionName", local.function_name],
            [var.metrics_namespace, "RecordsSkipped", "FunctionName", local.function_name],
            [var.metrics_namespace, "RecordsHandedBack", "FunctionName", local.function_name],
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
          title  = "Batch duration (ms): handler and function"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 60
          metrics = [
            [var.metrics_namespace, "BatchDuration", "FunctionName", local.function_name, { stat = "p99", label = "handler p99" }],
            ["AWS/Lambda", "Duration", "FunctionName", local.function_name, { stat = "Maximum", label = "function maximum" }],
          ]
          annotations = {
            horizontal = [
              { label = "timeout", value = var.timeout * 1000 },
              { label = "duration alarm", value = local.duration_alarm_threshold_ms },
            ]
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
    local.quarantine_queue_name != null ? [{
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title   = "Quarantine queue: messages waiting"
        region  = local.dashboard_region
        view    = "timeSeries"
        stat    = "Maximum"
        period  = 60
        metrics = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", local.quarantine_queue_name]]
        annotations = {
          horizontal = [{ label = "alarm threshold", value = var.quarantine_queue_alarm_threshold }]
        }
      }
    }] : [],
    local.quarantine_kind == "sns" ? [{
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title  = "Quarantine topic: published, deliveries failed"
        region = local.dashboard_region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/SNS", "NumberOfMessagesPublished", "TopicName", local.quarantine_topic_name],
          ["AWS/SNS", "NumberOfNotificationsFailed", "TopicName", local.quarantine_topic_name],
        ]
      }
    }] : [],
    local.mapping_event_counts && local.source_is_stream ? [{
      type   = "metric"
      width  = 12
      height = 6
      properties = {
        title  = "Records given up on: sent to the failure destination, dropped"
        region = local.dashboard_region
        view   = "timeSeries"
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/Lambda", "OnFailureDestinationDeliveredEventCount", "EventSourceMappingUUID", aws_lambda_event_source_mapping.this.uuid],
          ["AWS/Lambda", "DroppedEventCount", "EventSourceMappingUUID", aws_lambda_event_source_mapping.this.uuid],
        ]
      }
    }] : [],
  )
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
