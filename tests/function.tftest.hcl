# What production functions run with: a VPC (and the network-interface permissions Lambda needs),
# a published version behind an alias that the mapping invokes, logging levels that keep the
# handler's lines, more /tmp, tags on everything, and the alarms and dashboard that go with them.

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

# --- VPC ---

run "function_in_a_vpc_gets_the_network_interface_permissions" {
  command = plan

  variables {
    vpc = {
      subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
      security_group_ids = ["sg-0123456789abcdef0"]
    }
  }

  assert {
    condition = (
      aws_lambda_function.this.vpc_config[0].subnet_ids == toset(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])
      && aws_lambda_function.this.vpc_config[0].security_group_ids == toset(["sg-0123456789abcdef0"])
      && aws_lambda_function.this.vpc_config[0].ipv6_allowed_for_dual_stack == false
    )
    error_message = "vpc must become the function's vpc_config."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid => [flatten([statement.Action]), flatten([statement.Resource])]
      if startswith(statement.Sid, "Vpc")
      } == {
      VpcNetworkInterfacesDescribe = [["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], ["*"]]
      VpcNetworkInterfacesManage = [
        ["ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:UnassignPrivateIpAddresses"],
        ["arn:aws:ec2:eu-west-1:111122223333:*/*"],
      ]
    }
    error_message = "A VPC function's role needs the ENI actions AWS documents: the Describe ones on \"*\" (AWS cannot scope them), the others in the function's account and region only."
  }
}

run "function_outside_a_vpc_gets_no_ec2_permission" {
  command = plan

  assert {
    condition     = length(aws_lambda_function.this.vpc_config) == 0 && !anytrue([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : anytrue([for action in flatten([statement.Action]) : startswith(action, "ec2:")])])
    error_message = "Without vpc the function has no vpc_config and the role no EC2 permission."
  }
}

run "vpc_subnet_ids_must_be_subnet_ids" {
  command = plan

  variables {
    vpc = { subnet_ids = ["subnet-*"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  expect_failures = [var.vpc]
}

run "vpc_needs_a_security_group" {
  command = plan

  variables {
    vpc = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = [] }
  }

  expect_failures = [var.vpc]
}

# --- Version and alias ---

run "mapping_invokes_the_alias_of_the_published_version" {
  command = plan

  variables {
    publish = true
    alias   = { name = "live" }
  }

  assert {
    condition     = aws_lambda_function.this.publish == true && aws_lambda_alias.this[0].function_version == aws_lambda_function.this.version && aws_lambda_alias.this[0].name == "live"
    error_message = "With publish and alias, the alias must point at the version this apply published."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.function_name == aws_lambda_alias.this[0].arn
    error_message = "The event source mapping must invoke the alias, so that a deployment takes effect when the alias moves."
  }

  assert {
    condition = (
      output.function_qualifier == "live" && output.function_qualified_arn == aws_lambda_alias.this[0].arn
      && output.alias_arn == aws_lambda_alias.this[0].arn && output.alias_name == "live" && output.function_version == "7"
    )
    error_message = "The qualifier outputs must name the alias and the published version."
  }
}

run "without_an_alias_the_mapping_invokes_the_function" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.this.function_name == aws_lambda_function.this.arn && output.function_qualifier == "$LATEST" && output.alias_arn == null
    error_message = "Without an alias the mapping invokes the function ($LATEST)."
  }
}

run "alias_without_publishing_is_rejected" {
  command = plan

  variables {
    alias = { name = "live" }
  }

  expect_failures = [var.alias]
}

run "alias_named_like_a_version_is_rejected" {
  command = plan

  variables {
    publish = true
    alias   = { name = "42" }
  }

  expect_failures = [var.alias]
}

# --- Logging, storage ---

run "logs_are_text_and_unfiltered_by_default" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.this.logging_config[0].log_format == "Text"
      && aws_lambda_function.this.logging_config[0].application_log_level == null
      && aws_lambda_function.this.logging_config[0].log_group == aws_cloudwatch_log_group.this.name
    )
    error_message = "By default the function logs Text, unfiltered (no line of the handler dropped), to the module's log group."
  }

  assert {
    condition     = aws_lambda_function.this.ephemeral_storage[0].size == 512
    error_message = "/tmp must be Lambda's free 512 MB by default."
  }
}

run "json_logs_keep_every_handler_line_at_info" {
  command = plan

  variables {
    logging                = { log_format = "JSON" }
    ephemeral_storage_size = 2048
  }

  assert {
    condition = (
      aws_lambda_function.this.logging_config[0].log_format == "JSON"
      && aws_lambda_function.this.logging_config[0].application_log_level == "INFO"
      && aws_lambda_function.this.logging_config[0].system_log_level == "INFO"
    )
    error_message = "JSON logs default to INFO, which keeps the handler's summaries, metrics and error lines."
  }

  assert {
    condition     = aws_lambda_function.this.ephemeral_storage[0].size == 2048
    error_message = "ephemeral_storage_size must size /tmp."
  }
}

run "a_level_above_info_warns_that_metrics_are_dropped" {
  command = plan

  variables {
    logging = { log_format = "JSON", application_log_level = "ERROR" }
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].application_log_level == "ERROR"
    error_message = "An ERROR level is applied as asked."
  }

  expect_failures = [check.log_level_keeps_the_metrics]
}

run "fatal_level_is_refused_for_it_drops_last_resort_lines" {
  command = plan

  variables {
    logging = { log_format = "JSON", application_log_level = "FATAL" }
  }

  expect_failures = [var.logging]
}

run "log_levels_with_text_format_are_refused" {
  command = plan

  variables {
    logging = { application_log_level = "WARN" }
  }

  expect_failures = [var.logging]
}

run "ephemeral_storage_out_of_range_is_rejected" {
  command = plan

  variables {
    ephemeral_storage_size = 10241
  }

  expect_failures = [var.ephemeral_storage_size]
}

# --- Tags ---

run "every_resource_that_takes_tags_gets_them" {
  command = plan

  variables {
    tags                   = { Team = "orders", CostCenter = "42" }
    event_source           = { kind = "kinesis" }
    quarantine             = { kind = "sns", dead_letter = {} }
    idempotency_table      = { create = true }
    publish                = true
    alias                  = { name = "live" }
    create_stream_consumer = true
  }

  assert {
    condition = alltrue([
      for tags in concat(
        [aws_kinesis_stream.this[0].tags, aws_lambda_function.this.tags, aws_cloudwatch_log_group.this.tags, aws_iam_role.this[0].tags],
        [aws_lambda_event_source_mapping.this.tags, aws_s3_bucket.failures[0].tags, aws_sqs_queue.quarantine[0].tags],
        [aws_sqs_queue.quarantine_dead_letter[0].tags, aws_sns_topic.quarantine[0].tags, aws_dynamodb_table.idempotency[0].tags],
        [for alarm in aws_cloudwatch_metric_alarm.this : alarm.tags],
      ) : tags == tomap({ Team = "orders", CostCenter = "42" })
    ])
    error_message = "Every resource the module creates that takes tags (stream, function, log group, role, mapping, bucket, queues, topic, table, alarms) must get var.tags."
  }
}

run "an_sqs_source_s_queues_are_tagged" {
  command = plan

  variables {
    tags         = { Team = "orders" }
    event_source = { kind = "sqs" }
  }

  assert {
    condition     = aws_sqs_queue.source[0].tags == tomap({ Team = "orders" }) && aws_sqs_queue.source_dead_letter[0].tags == tomap({ Team = "orders" })
    error_message = "The source queue and its dead-letter queue must get var.tags."
  }
}

# --- Alarms and dashboard ---

run "duration_near_the_timeout_is_alarmed" {
  command = plan

  variables {
    timeout = 120
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["duration"].metric_name == "Duration"
      && aws_cloudwatch_metric_alarm.this["duration"].statistic == "Maximum"
      && aws_cloudwatch_metric_alarm.this["duration"].threshold == 96000
      && aws_cloudwatch_metric_alarm.this["duration"].dimensions == tomap({ FunctionName = "orders" })
    )
    error_message = "The duration alarm must fire when an invocation runs past 80 % of the timeout (96 s of 120 s)."
  }
}

run "duration_alarm_threshold_follows_the_percentage" {
  command = plan

  variables {
    timeout                          = 60
    duration_alarm_threshold_percent = 50
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["duration"].threshold == 30000
    error_message = "duration_alarm_threshold_percent must set the share of the timeout."
  }
}

run "alarms_without_actions_are_warned_about" {
  command = plan

  variables {
    alarm_actions = []
  }

  expect_failures = [check.alarms_notify_someone]
}

run "dashboard_name_carries_the_region" {
  command = plan

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "orders-eu-west-1" && output.dashboard_name == "orders-eu-west-1"
    error_message = "The dashboard's name must include the region: dashboards are global to an account, and a second region's would overwrite the first."
  }
}

run "dashboard_name_can_be_chosen" {
  command = plan

  variables {
    dashboard_name = "orders-pipeline"
  }

  assert {
    condition     = aws_cloudwatch_dashboard.this[0].dashboard_name == "orders-pipeline"
    error_message = "dashboard_name must name the dashboard."
  }
}

run "dashboard_name_without_a_dashboard_is_rejected" {
  command = plan

  variables {
    create_dashboard = false
    dashboard_name   = "orders-pipeline"
  }

  expect_failures = [var.dashboard_name]
}
