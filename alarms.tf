# --- Alarms ---
# What operators are told about: the function falling behind, failing, throttled or running near
# its timeout; records quarantined, waiting in the quarantine, undeliverable to it, given up on or
# dropped by the mapping.

locals {
  function_dimensions = { FunctionName = aws_lambda_function.this.function_name }
  mapping_dimensions  = { EventSourceMappingUUID = aws_lambda_event_source_mapping.this.uuid }

  # The mapping publishes these only with metrics_config EventCount. Names and meanings:
  # https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html#event-source-mapping-metrics
  mapping_event_counts = contains(local.mapping.metrics, "EventCount")

  duration_alarm_threshold_ms = var.timeout * 1000 * var.duration_alarm_threshold_percent / 100

  alarms = var.create_alarms ? merge(
    local.source_is_stream ? {
      iterator_age = {
        description = "The function is falling behind: the newest record it read is more than ${var.iterator_age_alarm_threshold_ms} ms old."
        namespace   = "AWS/Lambda"
        metric_name = "IteratorAge"
        statistic   = "Maximum"
        dimensions  = local.function_dimensions
        threshold   = var.iterator_age_alarm_threshold_ms
      }
      } : {
      source_queue_age = {
        description = "The oldest message of the source queue ${local.source_queue_name} is more than ${var.source_queue_age_alarm_threshold_seconds} s old: the function is falling behind, or a message keeps failing."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateAgeOfOldestMessage"
        statistic   = "Maximum"
        dimensions  = { QueueName = local.source_queue_name }
        threshold   = var.source_queue_age_alarm_threshold_seconds
      }
    },
    local.create_source_queue ? {
      dead_letter_queue_depth = {
        description = "Messages wait in the source queue's dead-letter queue ${aws_sqs_queue.source_dead_letter[0].name}: their batch failed ${coalesce(var.event_source.queue.max_receive_count, 5)} times. Inspect and redrive them."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        statistic   = "Maximum"
        dimensions  = { QueueName = aws_sqs_queue.source_dead_letter[0].name }
        threshold   = var.dead_letter_queue_alarm_threshold
      }
    } : {},
    {
      errors = {
        description = local.source_is_stream ? "The function failed whole batches (they are bisected and retried, then sent to the failure destination)." : "The function failed whole batches (their messages are received again, then moved to the dead-letter queue)."
        namespace   = "AWS/Lambda"
        metric_name = "Errors"
        statistic   = "Sum"
        dimensions  = local.function_dimensions
        threshold   = var.errors_alarm_threshold
      }
      throttles = {
        description = "Invocations of the function were throttled: the source is read more slowly than it could be."
        namespace   = "AWS/Lambda"
        metric_name = "Throttles"
        statistic   = "Sum"
        dimensions  = local.function_dimensions
        threshold   = var.throttles_alarm_threshold
      }
      duration = {
        description = "An invocation ran more than ${var.duration_alarm_threshold_percent} % of the function's ${var.timeout} s timeout: a batch that grows, or a slow dependency, is about to time out (a timed-out batch is retried whole, then bisected)."
        namespace   = "AWS/Lambda"
        metric_name = "Duration"
        statistic   = "Maximum"
        dimensions  = local.function_dimensions
        threshold   = local.duration_alarm_threshold_ms
      }
      records_quarantined = {
        description = "The handler quarantined records it could not process (payloads are in the quarantine ${local.quarantine_kind == "sns" ? "topic's store" : "queue"}, or claim checks in the bucket)."
        namespace   = var.metrics_namespace
        metric_name = "RecordsQuarantined"
        statistic   = "Sum"
        dimensions  = local.function_dimensions
        threshold   = var.quarantined_records_alarm_threshold
      }
    },
    local.quarantine_queue_name != null ? {
      quarantine_queue_depth = {
        description = "Records wait in the quarantine queue ${local.quarantine_queue_name}: inspect and redrive them."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        statistic   = "Maximum"
        dimensions  = { QueueName = local.quarantine_queue_name }
        threshold   = var.quarantine_queue_alarm_threshold
      }
    } : {},
    local.quarantine_kind == "sns" ? {
      # SNS gave up delivering quarantined records to a subscriber: they are kept nowhere else.
      quarantine_topic_failed_deliveries = {
        description = "The quarantine topic ${local.quarantine_topic_name} could not deliver messages to a subscriber: those quarantined records are lost unless the subscriber has a redrive policy. Check the subscribers' permissions and keys."
        namespace   = "AWS/SNS"
        metric_name = "NumberOfNotificationsFailed"
        statistic   = "Sum"
        dimensions  = { TopicName = local.quarantine_topic_name }
        threshold   = 0
      }
    } : {},
    length(aws_sqs_queue.quarantine_dead_letter) > 0 ? {
      quarantine_dead_letter_queue_depth = {
        description = "Quarantined records moved to ${aws_sqs_queue.quarantine_dead_letter[0].name} after ${var.quarantine.dead_letter.max_receive_count} receives from the quarantine queue: whatever reads the quarantine keeps failing on them."
        namespace   = "AWS/SQS"
        metric_name = "ApproximateNumberOfMessagesVisible"
        statistic   = "Maximum"
        dimensions  = { QueueName = aws_sqs_queue.quarantine_dead_letter[0].name }
        threshold   = 0
      }
    } : {},
    local.mapping_event_counts && local.source_is_stream ? {
      records_to_failure_destination = {
        description = "The mapping gave up on records (retries or record age exhausted) and sent them to the ${local.destination_kind} failure destination: inspect and redrive them."
        namespace   = "AWS/Lambda"
        metric_name = "OnFailureDestinationDeliveredEventCount"
        statistic   = "Sum"
        dimensions  = local.mapping_dimensions
        threshold   = var.failure_destination_alarm_threshold
      }
      records_dropped = {
        description = "The mapping dropped records: delivery to the failure destination failed, so they are kept nowhere but the stream until its retention ends. Check the destination and the role."
        namespace   = "AWS/Lambda"
        metric_name = "DroppedEventCount"
        statistic   = "Sum"
        dimensions  = local.mapping_dimensions
        threshold   = var.dropped_records_alarm_threshold
      }
    } : {},
  ) : {}
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

# An alarm without actions changes state on the console and tells no one.
check "alarms_notify_someone" {
  assert {
    condition     = !var.create_alarms || length(var.alarm_actions) > 0
    error_message = "The module creates ${length(local.alarms)} alarms with no alarm_actions: they notify nobody when records are quarantined, dropped or given up on. Pass alarm_actions (an SNS topic ARN, for example), or create_alarms = false if something else watches the pipeline."
  }
}
