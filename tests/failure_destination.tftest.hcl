# The on-failure destination is one typed variable: by default the module's failure bucket, with
# every protection AWS offers a bucket of failed records; or an existing bucket, queue or topic.
# The role's permissions, the claim-check location and the mapping's metrics and alarms follow it.

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

run "failure_bucket_is_encrypted_with_s3_keys_by_default" {
  command = plan

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.failures[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
      && one(one(aws_s3_bucket_server_side_encryption_configuration.failures[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == null
      && aws_s3_bucket_server_side_encryption_configuration.failures[0].bucket == aws_s3_bucket.failures[0].id
    )
    error_message = "Without a customer key the failure bucket must be encrypted with SSE-S3 (AES256)."
  }
}

run "failure_bucket_is_encrypted_with_the_customer_key_when_given" {
  command = plan

  variables {
    failure_destination = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.failures[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
      && one(one(aws_s3_bucket_server_side_encryption_configuration.failures[0].rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
      && one(aws_s3_bucket_server_side_encryption_configuration.failures[0].rule).bucket_key_enabled == true
    )
    error_message = "failure_destination.kms_key_arn must encrypt the failure bucket (SSE-KMS, with an S3 bucket key)."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement
      if try(statement.Sid, "") == "FailureBucketKeyUse"
      && toset(flatten([statement.Action])) == toset(["kms:GenerateDataKey"])
      && toset(flatten([try(statement.Resource, [])])) == toset(["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"])
    ]) != null
    error_message = "With a customer key on the bucket the role needs kms:GenerateDataKey on that key, and only that (AWS's documented permission for an S3 destination)."
  }
}

run "failure_bucket_blocks_public_access_and_acls" {
  command = plan

  assert {
    condition = (
      aws_s3_bucket_public_access_block.failures[0].bucket == aws_s3_bucket.failures[0].id
      && aws_s3_bucket_public_access_block.failures[0].block_public_acls == true
      && aws_s3_bucket_public_access_block.failures[0].block_public_policy == true
      && aws_s3_bucket_public_access_block.failures[0].ignore_public_acls == true
      && aws_s3_bucket_public_access_block.failures[0].restrict_public_buckets == true
    )
    error_message = "Every public access block flag of the failure bucket must be on."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.failures[0].rule).object_ownership == "BucketOwnerEnforced"
    error_message = "The failure bucket must enforce bucket-owner ownership (ACLs off)."
  }
}

run "failure_bucket_refuses_requests_without_tls" {
  command = plan

  # The policy is read as attached to the bucket (rendered by the module, not a data source, whose
  # mocked document would be any JSON): an empty or other policy in its place fails this run.
  assert {
    condition = aws_s3_bucket_policy.failures[0].bucket == aws_s3_bucket.failures[0].id && jsondecode(aws_s3_bucket_policy.failures[0].policy) == {
      Version = "2012-10-17"
      Statement = [{
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.failures[0].arn, "${aws_s3_bucket.failures[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      }]
    }
    error_message = "The failure bucket's attached policy must deny every action on the bucket and its objects to everyone when the request does not come over TLS (aws:SecureTransport false), and nothing else."
  }
}

run "failure_bucket_expires_objects_after_30_days_by_default" {
  command = plan

  assert {
    condition = (
      one(aws_s3_bucket_lifecycle_configuration.failures[0].rule).status == "Enabled"
      && one(one(aws_s3_bucket_lifecycle_configuration.failures[0].rule).expiration).days == 30
      && one(one(aws_s3_bucket_lifecycle_configuration.failures[0].rule).abort_incomplete_multipart_upload).days_after_initiation == 1
    )
    error_message = "The failure bucket must expire objects after 30 days by default, and abandoned uploads after a day."
  }
}

run "failure_bucket_retention_and_destroy_follow_the_variable" {
  command = plan

  variables {
    failure_destination = { retention_days = 90, force_destroy = true }
  }

  assert {
    condition     = one(one(aws_s3_bucket_lifecycle_configuration.failures[0].rule).expiration).days == 90
    error_message = "failure_destination.retention_days must set the bucket's expiry."
  }

  assert {
    condition     = aws_s3_bucket.failures[0].force_destroy == true
    error_message = "failure_destination.force_destroy must reach the bucket."
  }
}

run "failure_bucket_name_is_a_valid_bucket_prefix_from_any_function_name" {
  command = plan

  variables {
    name = "Orders_Pipeline_With_A_Rather_Long_Name"
  }

  assert {
    condition     = aws_s3_bucket.failures[0].bucket_prefix == "orders-pipeline-with-a-rath-failures-" && length(aws_s3_bucket.failures[0].bucket_prefix) <= 37
    error_message = "The bucket prefix must be the lowercased name ('_' as '-'), cut so the prefix stays within S3's 37 characters."
  }
}

run "role_may_write_to_the_failure_bucket_of_its_own_account_only" {
  command = plan

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement
      if try(statement.Sid, "") == "FailureBucketList"
      && toset(flatten([statement.Action])) == toset(["s3:ListBucket"])
      && toset(flatten([try(statement.Resource, [])])) == toset([aws_s3_bucket.failures[0].arn])
    ]) != null
    error_message = "The role must be able to list the failure bucket (AWS requires s3:ListBucket for an S3 destination)."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement
      if try(statement.Sid, "") == "FailureBucketWrite"
      && toset(flatten([statement.Action])) == toset(["s3:PutObject"])
      && toset(flatten([try(statement.Resource, [])])) == toset(["${aws_s3_bucket.failures[0].arn}/aws/lambda/*"])
    ]) != null
    error_message = "The role may put objects in the failure bucket only where Lambda writes its on-failure records (aws/lambda/)."
  }

  assert {
    condition = alltrue([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement :
      try(statement.Condition, null) == { StringEquals = { "s3:ResourceAccount" = ["111122223333"] } }
      if anytrue([for action in flatten([statement.Action]) : startswith(action, "s3:")])
    ])
    error_message = "Every S3 permission must hold only for buckets of the function's account (s3:ResourceAccount), so a re-created bucket of someone else gets nothing."
  }
}

run "claim_checks_go_to_the_failure_bucket_under_their_prefix" {
  command = plan

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["SHARDSAFE_CLAIM_CHECK_BUCKET"] == "orders-failures-20240131120000000000000001"
      && aws_lambda_function.this.environment[0].variables["SHARDSAFE_CLAIM_CHECK_PREFIX"] == "claim-checks/"
      && output.claim_check_bucket_name == "orders-failures-20240131120000000000000001"
      && output.claim_check_prefix == "claim-checks/"
    )
    error_message = "With the S3 destination the function must be told to write claim checks to the failure bucket under claim-checks/."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])]))
      if try(statement.Sid, "") == "ClaimCheckWrite" && toset(flatten([statement.Action])) == toset(["s3:PutObject"])
    ]) == toset(["${aws_s3_bucket.failures[0].arn}/claim-checks/*"])
    error_message = "The role may write claim checks under their prefix only."
  }
}

run "existing_bucket_is_the_destination_without_creating_one" {
  command = plan

  variables {
    failure_destination = { kind = "s3", arn = "arn:aws:s3:::team-failures", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
    claim_check         = { prefix = "oversized/" }
  }

  assert {
    condition     = length(aws_s3_bucket.failures) == 0 && length(aws_s3_bucket_policy.failures) == 0 && length(aws_s3_bucket_lifecycle_configuration.failures) == 0
    error_message = "No bucket may be created, nor an existing one reconfigured, when failure_destination.arn names a bucket."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:s3:::team-failures"
    error_message = "The mapping's on-failure destination must be the existing bucket."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => toset(flatten([try(statement.Resource, [])]))
      if contains(["FailureBucketList", "FailureBucketWrite", "FailureBucketKeyUse", "ClaimCheckWrite"], try(statement.Sid, ""))
      } == {
      FailureBucketList   = toset(["arn:aws:s3:::team-failures"])
      FailureBucketWrite  = toset(["arn:aws:s3:::team-failures/aws/lambda/*"])
      FailureBucketKeyUse = toset(["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"])
      ClaimCheckWrite     = toset(["arn:aws:s3:::team-failures/oversized/*"])
    }
    error_message = "The role's S3 and key permissions must name the existing bucket, its key and the claim-check prefix."
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["SHARDSAFE_CLAIM_CHECK_BUCKET"] == "team-failures"
      && aws_lambda_function.this.environment[0].variables["SHARDSAFE_CLAIM_CHECK_PREFIX"] == "oversized/"
      && output.failure_bucket_name == "team-failures"
      && output.failure_bucket_arn == "arn:aws:s3:::team-failures"
    )
    error_message = "The claim-check location and the bucket outputs must name the existing bucket (its name is the ARN's last part)."
  }
}

run "sqs_destination_is_the_quarantine_queue_as_before" {
  command = plan

  variables {
    failure_destination = { kind = "sqs" }
    quarantine          = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  assert {
    condition     = length(aws_s3_bucket.failures) == 0
    error_message = "No failure bucket may be created with an SQS destination."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.quarantine[0].arn
    error_message = "With kind sqs and no arn the mapping's on-failure destination must be the quarantine queue."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => toset(flatten([statement.Action]))
      if startswith(try(statement.Sid, ""), "Failure")
      } == {
      FailureQueueSend   = toset(["sqs:SendMessage"])
      FailureQueueKeyUse = toset(["kms:Decrypt", "kms:GenerateDataKey"])
    }
    error_message = "An SQS destination needs sqs:SendMessage, and kms:Decrypt and kms:GenerateDataKey on its key: no S3 permission."
  }

  assert {
    condition = (
      one([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "FailureQueueSend"]) == toset([aws_sqs_queue.quarantine[0].arn])
      && one([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "FailureQueueKeyUse"]) == toset(["arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"])
    )
    error_message = "The SQS destination's statements must name the quarantine queue and its key."
  }

  assert {
    condition = (
      !contains(keys(aws_lambda_function.this.environment[0].variables), "SHARDSAFE_CLAIM_CHECK_BUCKET")
      && !contains(keys(aws_lambda_function.this.environment[0].variables), "SHARDSAFE_CLAIM_CHECK_PREFIX")
      && !contains([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "")], "ClaimCheckWrite")
      && output.claim_check_bucket_name == null
    )
    error_message = "Without an S3 destination or claim_check.bucket_arn there is no claim check: no variables, no S3 permission."
  }

  assert {
    condition     = output.failure_destination_kind == "sqs" && output.failure_destination_arn == aws_sqs_queue.quarantine[0].arn && output.failure_bucket_name == null && output.failure_bucket_arn == null
    error_message = "The destination outputs must name the quarantine queue, and the bucket outputs be null."
  }
}

run "existing_queue_is_the_destination" {
  command = plan

  variables {
    failure_destination = { kind = "sqs", arn = "arn:aws:sqs:eu-west-1:111122223333:team-dlq", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:sqs:eu-west-1:111122223333:team-dlq"
    error_message = "The mapping's on-failure destination must be the queue named by failure_destination.arn."
  }

  assert {
    condition = (
      one([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "FailureQueueSend"]) == toset(["arn:aws:sqs:eu-west-1:111122223333:team-dlq"])
      && one([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : toset(flatten([try(statement.Resource, [])])) if try(statement.Sid, "") == "QuarantineQueueSend"]) == toset([aws_sqs_queue.quarantine[0].arn])
    )
    error_message = "The role may send to the destination queue and, for the handler, to the quarantine queue."
  }
}

run "sns_destination_is_an_existing_topic" {
  command = plan

  variables {
    failure_destination = { kind = "sns", arn = "arn:aws:sns:eu-west-1:111122223333:team-failures", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.this.destination_config[0].on_failure[0].destination_arn == "arn:aws:sns:eu-west-1:111122223333:team-failures"
    error_message = "The mapping's on-failure destination must be the topic."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => [toset(flatten([statement.Action])), toset(flatten([try(statement.Resource, [])]))]
      if startswith(try(statement.Sid, ""), "Failure")
      } == {
      FailureTopicPublish = [toset(["sns:Publish"]), toset(["arn:aws:sns:eu-west-1:111122223333:team-failures"])]
      FailureTopicKeyUse  = [toset(["kms:Decrypt", "kms:GenerateDataKey"]), toset(["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"])]
    }
    error_message = "An SNS destination needs sns:Publish on the topic, and kms:Decrypt and kms:GenerateDataKey on its key."
  }

  assert {
    condition     = length(aws_s3_bucket.failures) == 0 && output.failure_destination_kind == "sns"
    error_message = "No bucket may be created with an SNS destination."
  }
}

run "claim_check_bucket_can_be_given_with_any_destination" {
  command = plan

  variables {
    failure_destination = { kind = "sqs" }
    claim_check         = { bucket_arn = "arn:aws:s3:::team-claims", prefix = "orders/claims/", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee" }
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables["SHARDSAFE_CLAIM_CHECK_BUCKET"] == "team-claims"
      && aws_lambda_function.this.environment[0].variables["SHARDSAFE_CLAIM_CHECK_PREFIX"] == "orders/claims/"
    )
    error_message = "claim_check.bucket_arn and prefix must reach the function as the claim-check location."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => [toset(flatten([statement.Action])), toset(flatten([try(statement.Resource, [])]))]
      if startswith(try(statement.Sid, ""), "ClaimCheck")
      } == {
      ClaimCheckWrite  = [toset(["s3:PutObject"]), toset(["arn:aws:s3:::team-claims/orders/claims/*"])]
      ClaimCheckKeyUse = [toset(["kms:GenerateDataKey"]), toset(["arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"])]
    }
    error_message = "The role may write claim checks under the prefix of the claim-check bucket, with its key, and nowhere else."
  }
}

run "mapping_publishes_event_counts_by_default" {
  command = plan

  assert {
    condition     = one(aws_lambda_event_source_mapping.this.metrics_config).metrics == toset(["EventCount"])
    error_message = "The mapping must publish its EventCount metrics by default: the dropped-records alarm needs them."
  }
}

run "records_dropped_and_sent_to_the_destination_are_alarmed" {
  command = plan

  variables {
    failure_destination_alarm_threshold = 5
    dropped_records_alarm_threshold     = 1
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["records_dropped"].namespace == "AWS/Lambda"
      && aws_cloudwatch_metric_alarm.this["records_dropped"].metric_name == "DroppedEventCount"
      && aws_cloudwatch_metric_alarm.this["records_dropped"].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.this["records_dropped"].dimensions == tomap({ EventSourceMappingUUID = "00000000-0000-4000-8000-000000000000" })
      && aws_cloudwatch_metric_alarm.this["records_dropped"].threshold == 1
      && aws_cloudwatch_metric_alarm.this["records_dropped"].alarm_name == "orders-records-dropped"
    )
    error_message = "The dropped-records alarm must watch the mapping's DroppedEventCount Sum against dropped_records_alarm_threshold."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["records_to_failure_destination"].namespace == "AWS/Lambda"
      && aws_cloudwatch_metric_alarm.this["records_to_failure_destination"].metric_name == "OnFailureDestinationDeliveredEventCount"
      && aws_cloudwatch_metric_alarm.this["records_to_failure_destination"].statistic == "Sum"
      && aws_cloudwatch_metric_alarm.this["records_to_failure_destination"].dimensions == tomap({ EventSourceMappingUUID = "00000000-0000-4000-8000-000000000000" })
      && aws_cloudwatch_metric_alarm.this["records_to_failure_destination"].threshold == 5
    )
    error_message = "The failure-destination alarm must watch the mapping's OnFailureDestinationDeliveredEventCount Sum against failure_destination_alarm_threshold."
  }

  assert {
    condition = anytrue([
      for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets :
      widget.properties.metrics == [
        ["AWS/Lambda", "OnFailureDestinationDeliveredEventCount", "EventSourceMappingUUID", "00000000-0000-4000-8000-000000000000"],
        ["AWS/Lambda", "DroppedEventCount", "EventSourceMappingUUID", "00000000-0000-4000-8000-000000000000"],
      ] if widget.type == "metric"
    ])
    error_message = "The dashboard must graph the mapping's records sent to the destination and dropped."
  }
}

run "without_event_counts_there_is_nothing_to_alarm_on" {
  command = plan

  variables {
    event_source_mapping = { metrics = [] }
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.this.metrics_config) == 0
    error_message = "metrics = [] must leave the mapping without metrics_config."
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "records_dropped") && !contains(keys(aws_cloudwatch_metric_alarm.this), "records_to_failure_destination")
    error_message = "Without EventCount metrics the mapping alarms would never see data: they must not be created."
  }

  assert {
    condition     = !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "DroppedEventCount")
    error_message = "Without EventCount metrics the dashboard must not graph them."
  }
}
