# Where the handler sends what it cannot process: an SQS queue (created or existing), or an SNS
# topic (created with an SQS queue subscribed as the durable store, or existing); the function is
# told which and where, and the role may send there only.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name              = "orders"
  function_zip_path = "tests/fixtures/lambda-fixture.zip"
  # Alarms that notify someone: without, a check block warns (and fails a test run).
  alarm_actions = ["arn:aws:sns:eu-west-1:111122223333:oncall"]
}

# --- SQS (the default) ---

run "function_is_told_the_sqs_sink_and_its_queue" {
  command = plan

  assert {
    condition = {
      for key, value in aws_lambda_function.this.environment[0].variables : key => value if startswith(key, "SHARDSAFE_QUARANTINE_")
      } == {
      SHARDSAFE_QUARANTINE_SINK              = "sqs"
      SHARDSAFE_QUARANTINE_QUEUE_URL         = aws_sqs_queue.quarantine[0].url
      SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES = "262144"
    }
    error_message = "With kind sqs the function must get SHARDSAFE_QUARANTINE_SINK=sqs, the queue's URL and the queue's limit, and no topic."
  }

  assert {
    condition     = length(aws_sns_topic.quarantine) == 0 && length(aws_sqs_queue_policy.quarantine) == 0 && length(aws_sqs_queue.quarantine_dead_letter) == 0
    error_message = "Kind sqs creates no topic, no queue policy, and no dead-letter queue unless asked."
  }
}

run "existing_quarantine_queue_is_wired_without_creating_one" {
  command = plan

  variables {
    quarantine = {
      arn              = "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
      url              = "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq"
      max_message_size = 1048576
    }
  }

  assert {
    condition     = length(aws_sqs_queue.quarantine) == 0
    error_message = "No queue may be created for an existing quarantine queue."
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["SHARDSAFE_QUARANTINE_QUEUE_URL"] == "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq"
      && aws_lambda_function.this.environment[0].variables["SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES"] == "1048576"
    )
    error_message = "The handler must quarantine to the existing queue, with its limit (quarantine.max_message_size)."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "QuarantineQueueSend"
    ]) == toset(["arn:aws:sqs:eu-west-1:111122223333:team-dlq"])
    error_message = "The role may send to the existing queue, and only it."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["quarantine_queue_depth"].dimensions == tomap({ QueueName = "team-dlq" })
    error_message = "The quarantine queue alarm must watch the existing queue (its name is the ARN's last part)."
  }

  assert {
    condition     = output.quarantine_queue_name == "team-dlq" && output.quarantine_queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq" && output.quarantine_queue_arn == "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
    error_message = "The quarantine queue outputs must name the existing queue."
  }
}

run "existing_quarantine_queue_is_the_sqs_destination" {
  command = plan

  variables {
    failure_destination = { kind = "sqs" }
    quarantine = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq"
    }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
    error_message = "With kind sqs and no arn the mapping's on-failure destination must be the existing quarantine queue."
  }
}

run "quarantine_dead_letter_queue_takes_what_is_received_too_often" {
  command = plan

  variables {
    quarantine = {
      message_retention_seconds = 604800
      dead_letter               = { max_receive_count = 25 }
    }
  }

  assert {
    condition = jsondecode(aws_sqs_queue.quarantine[0].redrive_policy) == {
      deadLetterTargetArn = aws_sqs_queue.quarantine_dead_letter[0].arn
      maxReceiveCount     = 25
    }
    error_message = "The quarantine queue's redrive policy must name its own dead-letter queue (not the source's) after dead_letter.max_receive_count receives."
  }

  assert {
    condition     = aws_sqs_queue.quarantine_dead_letter[0].name == "orders-failures-dlq" && aws_sqs_queue.quarantine_dead_letter[0].message_retention_seconds == 1209600 && aws_sqs_queue.quarantine_dead_letter[0].sqs_managed_sse_enabled == true
    error_message = "The quarantine dead-letter queue is <name>-failures-dlq, encrypted, keeping messages 14 days by default."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["quarantine_dead_letter_queue_depth"].dimensions == tomap({ QueueName = "orders-failures-dlq" })
    error_message = "Records in the quarantine's dead-letter queue must be alarmed."
  }

  assert {
    condition     = output.quarantine_dead_letter_queue_arn == aws_sqs_queue.quarantine_dead_letter[0].arn && output.quarantine_dead_letter_queue_url == aws_sqs_queue.quarantine_dead_letter[0].url
    error_message = "The quarantine dead-letter queue outputs must name it."
  }
}

# --- SNS ---

run "sns_sink_publishes_to_a_topic_with_a_durable_store_queue" {
  command = plan

  variables {
    quarantine = { kind = "sns" }
  }

  assert {
    condition     = aws_sns_topic.quarantine[0].name == "orders-quarantine" && aws_sns_topic.quarantine[0].kms_master_key_id == "alias/aws/sns"
    error_message = "kind sns creates the topic <name>-quarantine, encrypted (SNS's AWS managed key without a customer key)."
  }

  assert {
    condition = (
      aws_sns_topic_subscription.quarantine[0].topic_arn == aws_sns_topic.quarantine[0].arn
      && aws_sns_topic_subscription.quarantine[0].protocol == "sqs"
      && aws_sns_topic_subscription.quarantine[0].endpoint == aws_sqs_queue.quarantine[0].arn
      && aws_sns_topic_subscription.quarantine[0].raw_message_delivery == true
    )
    error_message = "The quarantine queue must be subscribed to the topic with raw message delivery: a topic alone keeps nothing."
  }

  assert {
    condition = aws_sqs_queue_policy.quarantine[0].queue_url == aws_sqs_queue.quarantine[0].url && jsondecode(aws_sqs_queue_policy.quarantine[0].policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "QuarantineTopicDelivers"
        Effect    = "Allow"
        Principal = { Service = "sns.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.quarantine[0].arn
        Condition = { ArnEquals = { "aws:SourceArn" = aws_sns_topic.quarantine[0].arn } }
      }]
    }
    error_message = "The store queue's attached policy must let SNS deliver from the quarantine topic only."
  }

  assert {
    condition = {
      for key, value in aws_lambda_function.this.environment[0].variables : key => value if startswith(key, "SHARDSAFE_QUARANTINE_")
      } == {
      SHARDSAFE_QUARANTINE_SINK              = "sns"
      SHARDSAFE_QUARANTINE_TOPIC_ARN         = aws_sns_topic.quarantine[0].arn
      SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES = "262144"
    }
    error_message = "With kind sns the function must get SHARDSAFE_QUARANTINE_SINK=sns, the topic's ARN and the limit, and no queue URL."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid => [flatten([statement.Action]), flatten([statement.Resource])]
      if startswith(statement.Sid, "Quarantine")
      } == {
      QuarantineTopicPublish = [["sns:Publish"], [aws_sns_topic.quarantine[0].arn]]
    }
    error_message = "With kind sns the role may publish to the quarantine topic only (PublishBatch is authorized as sns:Publish), and may not send to the store queue."
  }

  assert {
    condition = (
      output.quarantine_kind == "sns" && output.quarantine_topic_arn == aws_sns_topic.quarantine[0].arn && output.quarantine_topic_name == "orders-quarantine"
      && output.quarantine_queue_arn == aws_sqs_queue.quarantine[0].arn && output.quarantine_queue_url == aws_sqs_queue.quarantine[0].url
    )
    error_message = "The outputs must name the topic, and the store queue as the quarantine queue (redrive reads it)."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["quarantine_topic_failed_deliveries"].dimensions == tomap({ TopicName = "orders-quarantine" })
      && aws_cloudwatch_metric_alarm.this["quarantine_topic_failed_deliveries"].metric_name == "NumberOfNotificationsFailed"
      && aws_cloudwatch_metric_alarm.this["quarantine_queue_depth"].dimensions == tomap({ QueueName = "orders-failures" })
    )
    error_message = "Failed deliveries from the quarantine topic and the store queue's depth must be alarmed."
  }
}

run "sns_sink_uses_the_customer_key_through_sns" {
  command = plan

  variables {
    quarantine = {
      kind        = "sns"
      kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
    }
  }

  assert {
    condition     = aws_sns_topic.quarantine[0].kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" && aws_sqs_queue.quarantine[0].kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
    error_message = "The customer key must encrypt the topic and its store queue."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : [flatten([statement.Action]), flatten([statement.Resource]), statement.Condition]
      if statement.Sid == "QuarantineTopicKeyUse"
      ]) == [
      ["kms:Decrypt", "kms:GenerateDataKey"],
      ["arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"],
      { StringEquals = { "kms:ViaService" = ["sns.eu-west-1.amazonaws.com"] } },
    ]
    error_message = "A publisher to an encrypted topic needs kms:GenerateDataKey and kms:Decrypt on its key, through SNS only."
  }

  assert {
    condition     = !contains([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid], "QuarantineQueueKeyUse")
    error_message = "The role does not write to the store queue (SNS does): no SQS key statement."
  }
}

run "existing_topic_is_published_to_without_creating_anything" {
  command = plan

  variables {
    quarantine = {
      kind             = "sns"
      arn              = "arn:aws:sns:eu-west-1:111122223333:team-quarantine"
      max_message_size = 1048576
    }
  }

  assert {
    condition     = length(aws_sns_topic.quarantine) == 0 && length(aws_sqs_queue.quarantine) == 0 && length(aws_sns_topic_subscription.quarantine) == 0
    error_message = "An existing topic gets no topic, store queue or subscription from the module: its subscribers are the caller's."
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["SHARDSAFE_QUARANTINE_TOPIC_ARN"] == "arn:aws:sns:eu-west-1:111122223333:team-quarantine"
      && aws_lambda_function.this.environment[0].variables["SHARDSAFE_QUARANTINE_MAX_MESSAGE_BYTES"] == "1048576"
      && !contains(keys(aws_lambda_function.this.environment[0].variables), "SHARDSAFE_QUARANTINE_QUEUE_URL")
    )
    error_message = "The function must publish to the existing topic, with the topic's limit."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : flatten([statement.Resource]) if statement.Sid == "QuarantineTopicPublish"
    ]) == ["arn:aws:sns:eu-west-1:111122223333:team-quarantine"]
    error_message = "The role may publish to the existing topic only."
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "quarantine_queue_depth") && aws_cloudwatch_metric_alarm.this["quarantine_topic_failed_deliveries"].dimensions == tomap({ TopicName = "team-quarantine" })
    error_message = "With an existing topic there is no queue of the module's to watch; the topic's failed deliveries are."
  }

  assert {
    condition     = output.quarantine_queue_url == null && output.quarantine_topic_name == "team-quarantine"
    error_message = "The outputs must name the existing topic and no queue."
  }
}

# --- Validations ---

run "unknown_quarantine_kind_is_rejected" {
  command = plan

  variables {
    quarantine = { kind = "eventbridge" }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_arn_of_another_kind_is_rejected" {
  command = plan

  variables {
    quarantine = {
      arn = "arn:aws:sns:eu-west-1:111122223333:team-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq"
    }
  }

  expect_failures = [var.quarantine]
}

run "fifo_quarantine_topic_is_rejected" {
  command = plan

  variables {
    quarantine = { kind = "sns", arn = "arn:aws:sns:eu-west-1:111122223333:team.fifo" }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_not_created_needs_an_arn" {
  command = plan

  variables {
    quarantine = { create = false }
  }

  expect_failures = [var.quarantine]
}

run "existing_quarantine_queue_needs_its_url" {
  command = plan

  variables {
    quarantine = { arn = "arn:aws:sqs:eu-west-1:111122223333:team-dlq" }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_url_of_another_queue_is_rejected" {
  command = plan

  variables {
    quarantine = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:orders-quarantine"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-other"
    }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_url_of_another_account_is_rejected" {
  command = plan

  variables {
    quarantine = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:orders-quarantine"
      url = "https://sqs.eu-west-1.amazonaws.com/444455556666/orders-quarantine"
    }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_url_without_an_existing_queue_is_rejected" {
  command = plan

  variables {
    quarantine = { url = "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-failures" }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_key_alias_is_rejected" {
  command = plan

  variables {
    quarantine = { kms_key_arn = "alias/aws/sqs" }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_retention_must_be_60_s_to_14_days" {
  command = plan

  variables {
    quarantine = { message_retention_seconds = 1209601 }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_retention_for_an_existing_queue_is_rejected" {
  command = plan

  variables {
    quarantine = {
      arn                       = "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
      url                       = "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq"
      message_retention_seconds = 86400
    }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_max_message_size_must_be_at_most_1_mib" {
  command = plan

  variables {
    quarantine = { max_message_size = 1048577 }
  }

  expect_failures = [var.quarantine]
}

run "quarantine_max_message_size_must_be_at_least_1_kib" {
  command = plan

  variables {
    quarantine = { max_message_size = 1023 }
  }

  expect_failures = [var.quarantine]
}

run "created_topic_cannot_take_more_than_256_kib" {
  command = plan

  variables {
    quarantine = { kind = "sns", max_message_size = 1048576 }
  }

  expect_failures = [var.quarantine]
}

run "dead_letter_for_an_existing_queue_is_rejected" {
  command = plan

  variables {
    quarantine = {
      arn         = "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
      url         = "https://sqs.eu-west-1.amazonaws.com/111122223333/team-dlq"
      dead_letter = {}
    }
  }

  expect_failures = [var.quarantine]
}

run "dead_letter_keeping_less_than_the_quarantine_is_rejected" {
  command = plan

  variables {
    quarantine = { dead_letter = { retention_seconds = 604800 } }
  }

  expect_failures = [var.quarantine]
}

run "dead_letter_receive_count_out_of_range_is_rejected" {
  command = plan

  variables {
    quarantine = { dead_letter = { max_receive_count = 0 } }
  }

  expect_failures = [var.quarantine]
}

run "sqs_destination_without_arn_needs_a_quarantine_queue" {
  command = plan

  variables {
    failure_destination = { kind = "sqs" }
    quarantine          = { kind = "sns", arn = "arn:aws:sns:eu-west-1:111122223333:team-quarantine" }
  }

  expect_failures = [var.failure_destination]
}
