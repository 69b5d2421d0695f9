# The execution role is least privilege: named actions only, each on the resource the module made
# or was given; only X-Ray's write actions, which AWS cannot scope, take "*".

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

run "no_action_is_a_wildcard" {
  command = plan

  variables {
    create_stream_consumer = true
    stream_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine             = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  assert {
    condition = alltrue(flatten([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : [for action in flatten([statement.Action]) : !strcontains(action, "*")]
    ]))
    error_message = "No statement of the role's policy may use a wildcard action."
  }

  assert {
    condition     = alltrue([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Effect == "Allow" && contains([["Action", "Effect", "Resource", "Sid"], ["Action", "Condition", "Effect", "Resource", "Sid"]], keys(statement))])
    error_message = "The module's statements must be plain Allow statements, with no NotAction or NotResource."
  }
}

run "resources_are_scoped_to_what_the_module_made" {
  command = plan

  variables {
    create_stream_consumer = true
    stream_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine             = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => toset(flatten([try(statement.Resource, [])]))
      } == {
      KinesisStreamRead     = toset([aws_kinesis_stream.this[0].arn])
      KinesisConsumerRead   = toset([aws_kinesis_stream_consumer.this[0].arn])
      QuarantineQueueSend   = toset([aws_sqs_queue.quarantine[0].arn])
      LogsWrite             = toset(["${aws_cloudwatch_log_group.this.arn}:*"])
      StreamKeyDecrypt      = toset(["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"])
      QuarantineQueueKeyUse = toset(["arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"])
      FailureBucketList     = toset([aws_s3_bucket.failures[0].arn])
      FailureBucketWrite    = toset(["${aws_s3_bucket.failures[0].arn}/aws/lambda/*"])
      ClaimCheckWrite       = toset(["${aws_s3_bucket.failures[0].arn}/claim-checks/*"])
      XRayWrite             = toset(["*"])
    }
    error_message = "Each statement must be scoped to one resource the module made or was given (stream, consumer, queue, bucket, log group, keys); only XRayWrite may use \"*\"."
  }
}

run "each_statement_grants_only_what_the_pipeline_needs" {
  command = plan

  variables {
    create_stream_consumer = true
    stream_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine             = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => toset(flatten([statement.Action]))
      } == {
      KinesisStreamRead     = toset(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"])
      KinesisConsumerRead   = toset(["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"])
      QuarantineQueueSend   = toset(["sqs:SendMessage"])
      LogsWrite             = toset(["logs:CreateLogStream", "logs:PutLogEvents"])
      StreamKeyDecrypt      = toset(["kms:Decrypt"])
      QuarantineQueueKeyUse = toset(["kms:Decrypt", "kms:GenerateDataKey"])
      FailureBucketList     = toset(["s3:ListBucket"])
      FailureBucketWrite    = toset(["s3:PutObject"])
      ClaimCheckWrite       = toset(["s3:PutObject"])
      XRayWrite             = toset(["xray:PutTelemetryRecords", "xray:PutTraceSegments"])
    }
    error_message = "The role may read the stream (and consumer), send to the quarantine queue, write to the failure bucket, use the keys in use, write its own logs and traces: nothing else."
  }
}

run "no_kms_statement_without_a_customer_key" {
  command = plan

  assert {
    condition     = length([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement if anytrue([for action in flatten([statement.Action]) : startswith(action, "kms:")])]) == 0
    error_message = "With the AWS managed stream key, SSE-SQS and SSE-S3 the role needs, and must get, no KMS permission."
  }
}

run "no_xray_statement_without_active_tracing" {
  command = plan

  variables {
    tracing_mode = "PassThrough"
  }

  assert {
    condition     = !contains([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "")], "XRayWrite")
    error_message = "The X-Ray statement (the only one on \"*\") must be left out when tracing is not Active."
  }
}

run "role_is_assumable_by_lambda_only" {
  command = plan

  assert {
    condition = jsondecode(aws_iam_role.this[0].assume_role_policy).Statement == [{
      Sid       = "LambdaAssumeRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
    error_message = "The role's trust policy must let lambda.amazonaws.com, and nothing else, assume it."
  }

  assert {
    condition     = aws_lambda_function.this.role == aws_iam_role.this[0].arn
    error_message = "The function must run as the created role."
  }
}

# The mock provider gives every policy document the same JSON, so comparing the attached policy
# with a data source's proves nothing; the module renders its documents itself, and this run reads
# what is attached to the role.
run "the_permissions_policy_is_what_is_attached_to_the_role" {
  command = plan

  assert {
    condition     = aws_iam_role_policy.this[0].role == aws_iam_role.this[0].id && aws_iam_role_policy.this[0].policy == output.role_policy_json
    error_message = "The least-privilege policy (role_policy_json) must be attached to the created role."
  }

  assert {
    condition = [for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "")] == [
      "ClaimCheckWrite", "FailureBucketList", "FailureBucketWrite", "KinesisStreamRead", "LogsWrite", "QuarantineQueueSend", "XRayWrite",
    ]
    error_message = "The role's permissions policy must hold the pipeline's statements (read the stream, write the failure bucket, claim checks, quarantine queue, logs and traces) and no other, such as the trust policy's sts:AssumeRole."
  }

  assert {
    condition     = !anytrue([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : contains(flatten([statement.Action]), "sts:AssumeRole") || can(statement.Principal)])
    error_message = "A permissions policy names no principal and grants no sts:AssumeRole: that is the trust policy, attached in the wrong place."
  }
}

run "extra_statements_are_added_as_given" {
  command = plan

  variables {
    role_policy_statements = {
      WriteOutput = {
        actions              = ["s3:PutObject"]
        resources            = ["arn:aws:s3:::orders-out/*"]
        acknowledge_wildcard = true
        conditions = [{
          test     = "StringEquals"
          variable = "s3:x-amz-server-side-encryption"
          values   = ["AES256"]
        }]
      }
    }
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement
      if try(statement.Sid, "") == "WriteOutput"
      && statement.Effect == "Allow"
      && toset(flatten([statement.Action])) == toset(["s3:PutObject"])
      && toset(flatten([try(statement.Resource, [])])) == toset(["arn:aws:s3:::orders-out/*"])
      && try(statement.Condition, null) == { StringEquals = { "s3:x-amz-server-side-encryption" = ["AES256"] } }
    ]) != null
    error_message = "role_policy_statements must be added to the role's policy as given, with their conditions."
  }

  assert {
    condition     = length(jsondecode(aws_iam_role_policy.this[0].policy).Statement) == 8
    error_message = "Extra statements must be added to the module's own (7 by default), not replace them."
  }
}

run "permissions_boundary_is_set_on_the_role" {
  command = plan

  variables {
    role_permissions_boundary_arn = "arn:aws:iam::111122223333:policy/boundary"
  }

  assert {
    condition     = aws_iam_role.this[0].permissions_boundary == "arn:aws:iam::111122223333:policy/boundary"
    error_message = "role_permissions_boundary_arn must become the created role's permissions boundary."
  }
}

run "module_statement_ids_are_reserved" {
  command = plan

  variables {
    role_policy_statements = {
      kinesisstreamread = {
        actions   = ["kinesis:GetRecords"]
        resources = ["arn:aws:kinesis:eu-west-1:111122223333:stream/other"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "a_wildcard_action_needs_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      WriteOutput = {
        actions   = ["s3:*"]
        resources = ["arn:aws:s3:::orders-out/*"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "resource_star_needs_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      ReadParameters = {
        actions   = ["ssm:GetParameter"]
        resources = ["*"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "an_acknowledged_wildcard_is_granted" {
  command = plan

  variables {
    role_policy_statements = {
      ReadParameters = {
        actions              = ["ssm:GetParameter*"]
        resources            = ["*"]
        acknowledge_wildcard = true
      }
      DenyDeletes = {
        effect    = "Deny"
        actions   = ["s3:Delete*"]
        resources = ["*"]
      }
    }
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => [statement.Effect, flatten([statement.Action]), flatten([try(statement.Resource, [])])]
      if contains(["ReadParameters", "DenyDeletes"], try(statement.Sid, ""))
      } == {
      ReadParameters = ["Allow", ["ssm:GetParameter*"], ["*"]]
      DenyDeletes    = ["Deny", ["s3:Delete*"], ["*"]]
    }
    error_message = "An acknowledged wildcard statement, and a Deny (which only narrows), must be added as given."
  }
}

run "kms_statements_hold_only_through_their_service" {
  command = plan

  variables {
    stream_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine         = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
    failure_destination = {
      kms_key_arn = "arn:aws:kms:eu-central-1:111122223333:key/77777777-7777-8888-9999-000000000000"
    }
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => statement.Condition
      if anytrue([for action in flatten([statement.Action]) : startswith(action, "kms:")])
      } == {
      StreamKeyDecrypt      = { StringEquals = { "kms:ViaService" = ["kinesis.eu-west-1.amazonaws.com"] } }
      QuarantineQueueKeyUse = { StringEquals = { "kms:ViaService" = ["sqs.eu-west-1.amazonaws.com"] } }
      FailureBucketKeyUse   = { StringEquals = { "kms:ViaService" = ["s3.eu-central-1.amazonaws.com"] } }
    }
    error_message = "Every KMS statement must hold only through the service that uses the key, in the key's region (kms:ViaService), so the role cannot call KMS with the key directly."
  }
}

run "one_key_for_everything_gets_a_statement_per_use" {
  command = plan

  variables {
    stream_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine         = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
    failure_destination = {
      kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    }
  }

  assert {
    condition = [
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Condition.StringEquals["kms:ViaService"][0]
      if anytrue([for action in flatten([statement.Action]) : startswith(action, "kms:")])
    ] == ["s3.eu-west-1.amazonaws.com", "sqs.eu-west-1.amazonaws.com", "kinesis.eu-west-1.amazonaws.com"]
    error_message = "One key used by several services must get one statement per use, each through its own service."
  }
}

run "dynamodb_stream_is_read_with_the_documented_actions_only" {
  command = plan

  variables {
    event_source = {
      kind        = "dynamodb"
      arn         = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-31T12:00:00.000"
      kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    }
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => [flatten([statement.Action]), flatten([try(statement.Resource, [])]), try(statement.Condition, null)]
      if contains(["DynamoDBStreamRead", "SourceKeyDecrypt"], try(statement.Sid, ""))
      } == {
      DynamoDBStreamRead = [["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"], ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2024-01-31T12:00:00.000"], null]
      SourceKeyDecrypt   = [["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"], { StringEquals = { "kms:ViaService" = ["dynamodb.eu-west-1.amazonaws.com"] } }]
    }
    error_message = "A DynamoDB stream source needs dynamodb:DescribeStream, GetRecords and GetShardIterator on that stream, and kms:Decrypt on its table's key through DynamoDB."
  }

  assert {
    condition     = !anytrue([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : anytrue([for action in flatten([statement.Action]) : startswith(action, "kinesis:")])])
    error_message = "A DynamoDB stream source gets no Kinesis permission."
  }
}

run "sqs_source_is_consumed_with_the_documented_actions_only" {
  command = plan

  variables {
    event_source = {
      kind        = "sqs"
      kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    }
  }

  assert {
    condition = [for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "")] == [
      "ClaimCheckWrite", "LogsWrite", "QuarantineQueueSend", "SourceKeyDecrypt", "SourceQueueConsume", "XRayWrite",
    ]
    error_message = "An SQS source gets consume and decrypt statements and no stream or failure-destination one: Lambda sends no queue message to an on-failure destination."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : try(statement.Sid, "") => [flatten([statement.Action]), flatten([try(statement.Resource, [])]), try(statement.Condition, null)]
      if contains(["SourceQueueConsume", "SourceKeyDecrypt"], try(statement.Sid, ""))
      } == {
      SourceQueueConsume = [["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], [aws_sqs_queue.source[0].arn], null]
      SourceKeyDecrypt   = [["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"], { StringEquals = { "kms:ViaService" = ["sqs.eu-west-1.amazonaws.com"] } }]
    }
    error_message = "An SQS source needs sqs:ReceiveMessage, DeleteMessage and GetQueueAttributes on that queue, and kms:Decrypt on its key through SQS."
  }
}

# --- No silent widening: a wildcard anywhere needs an acknowledgement, or is refused ---

run "a_wildcard_bucket_arn_needs_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      ReadEverything = {
        actions   = ["s3:GetObject"]
        resources = ["arn:aws:s3:::*"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "a_wildcard_in_every_arn_field_needs_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      ReadAnything = {
        actions   = ["sqs:ReceiveMessage"]
        resources = ["arn:*:*:*:*:*"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "a_question_mark_in_an_action_needs_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      PassRoles = {
        actions   = ["iam:PassRol?"]
        resources = ["arn:aws:iam::111122223333:role/team"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "pass_role_needs_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      PassTeamRole = {
        actions   = ["IAM:PassRole"]
        resources = ["arn:aws:iam::111122223333:role/team"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "all_objects_of_a_bucket_need_an_acknowledgement" {
  command = plan

  variables {
    role_policy_statements = {
      WriteOutput = {
        actions   = ["s3:PutObject"]
        resources = ["arn:aws:s3:::orders-out/*"]
      }
    }
  }

  expect_failures = [var.role_policy_statements]
}

run "acknowledged_pass_role_and_object_wildcards_are_granted" {
  command = plan

  variables {
    role_policy_statements = {
      PassTeamRole = {
        actions              = ["iam:PassRole"]
        resources            = ["arn:aws:iam::111122223333:role/team"]
        acknowledge_wildcard = true
      }
      WriteOutput = {
        actions              = ["s3:PutObject"]
        resources            = ["arn:aws:s3:::orders-out/*"]
        acknowledge_wildcard = true
      }
    }
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid => [flatten([statement.Action]), flatten([statement.Resource])]
      if contains(["PassTeamRole", "WriteOutput"], statement.Sid)
      } == {
      PassTeamRole = [["iam:PassRole"], ["arn:aws:iam::111122223333:role/team"]]
      WriteOutput  = [["s3:PutObject"], ["arn:aws:s3:::orders-out/*"]]
    }
    error_message = "Acknowledged statements must be added as given."
  }
}

run "a_claim_check_prefix_with_a_wildcard_is_refused" {
  command = plan

  variables {
    claim_check = { prefix = "*/" }
  }

  expect_failures = [var.claim_check]
}

run "a_claim_check_prefix_ending_in_a_wildcard_is_refused" {
  command = plan

  variables {
    claim_check = { prefix = "a*/" }
  }

  expect_failures = [var.claim_check]
}

run "a_claim_check_prefix_with_a_question_mark_is_refused" {
  command = plan

  variables {
    claim_check = { prefix = "claim-check?/" }
  }

  expect_failures = [var.claim_check]
}

run "a_managed_policy_arn_with_a_wildcard_is_refused" {
  command = plan

  variables {
    role_managed_policy_arns = ["arn:aws:iam::aws:policy/*"]
  }

  expect_failures = [var.role_managed_policy_arns]
}

run "a_role_arn_with_a_wildcard_is_refused" {
  command = plan

  variables {
    create_role = false
    role_arn    = "arn:aws:iam::111122223333:role/*"
  }

  expect_failures = [var.role_arn]
}

run "every_statement_the_module_makes_has_a_reserved_id" {
  command = plan

  variables {
    create_stream_consumer = true
    stream_kms_key_arn     = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine             = { kind = "sns", kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000" }
    failure_destination    = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/77777777-7777-8888-9999-000000000000" }
    idempotency_table      = { create = true, kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/88888888-7777-8888-9999-000000000000" }
    large_message_buckets  = { bucket_arns = ["arn:aws:s3:::orders-payloads"], kms_key_arns = ["arn:aws:kms:eu-west-1:111122223333:key/99999999-7777-8888-9999-000000000000"] }
    vpc                    = { subnet_ids = ["subnet-0123456789abcdef0"], security_group_ids = ["sg-0123456789abcdef0"] }
  }

  assert {
    condition     = length(setsubtract([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid], local.module_statement_ids)) == 0
    error_message = "Every statement id the module makes must be in local.module_statement_ids, which role_policy_statements may not use."
  }

  assert {
    condition = [for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid] == [
      "ClaimCheckWrite", "FailureBucketKeyUse", "FailureBucketList", "FailureBucketWrite", "IdempotencyTableKeyUse", "IdempotencyTableReadWrite",
      "KinesisConsumerRead", "KinesisStreamRead", "LargeMessageKeyUse", "LargeMessageList", "LargeMessageRead", "LogsWrite", "QuarantineTopicKeyUse",
      "QuarantineTopicPublish", "StreamKeyDecrypt", "VpcNetworkInterfacesDescribe", "VpcNetworkInterfacesManage", "XRayWrite",
    ]
    error_message = "With every option on, the role gets these 18 statements: a statement added or lost shows here."
  }
}

run "managed_policies_are_attached_by_arn_and_the_path_is_set" {
  command = plan

  variables {
    role_path                = "/service-roles/"
    role_managed_policy_arns = ["arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess", "arn:aws:iam::111122223333:policy/orders-extra"]
  }

  assert {
    condition     = aws_iam_role.this[0].path == "/service-roles/"
    error_message = "role_path must be the created role's path."
  }

  assert {
    condition = {
      for arn, attachment in aws_iam_role_policy_attachment.this : arn => attachment.role
      } == {
      "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess" = aws_iam_role.this[0].name
      "arn:aws:iam::111122223333:policy/orders-extra"   = aws_iam_role.this[0].name
    }
    error_message = "Each managed policy must be attached to the created role, keyed by its ARN."
  }
}
