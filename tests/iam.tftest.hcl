# The execution role is least privilege: named actions only, each on the resource the module made
# or was given; only X-Ray's write actions, which AWS cannot scope, take "*".

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  name              = "orders"
  function_zip_path = "tests/fixtures/lambda-fixture.zip"
}

run "no_action_is_a_wildcard" {
  command = plan

  variables {
    create_stream_consumer       = true
    stream_kms_key_arn           = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
  }

  assert {
    condition = alltrue(flatten([
      for statement in data.aws_iam_policy_document.this.statement : [for action in statement.actions : !strcontains(action, "*")]
    ]))
    error_message = "No statement of the role's policy may use a wildcard action."
  }

  assert {
    condition     = alltrue([for statement in data.aws_iam_policy_document.this.statement : statement.effect == "Allow" && try(length(statement.not_actions), 0) == 0 && try(length(statement.not_resources), 0) == 0])
    error_message = "The module's statements must be plain Allow statements, with no NotAction or NotResource."
  }
}

run "resources_are_scoped_to_what_the_module_made" {
  command = plan

  variables {
    create_stream_consumer       = true
    stream_kms_key_arn           = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
  }

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.this.statement : statement.sid => statement.resources
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
    create_stream_consumer       = true
    stream_kms_key_arn           = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    quarantine_queue_kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/66666666-7777-8888-9999-000000000000"
  }

  assert {
    condition = {
      for statement in data.aws_iam_policy_document.this.statement : statement.sid => statement.actions
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
    condition     = length([for statement in data.aws_iam_policy_document.this.statement : statement if anytrue([for action in statement.actions : startswith(action, "kms:")])]) == 0
    error_message = "With the AWS managed stream key, SSE-SQS and SSE-S3 the role needs, and must get, no KMS permission."
  }
}

run "no_xray_statement_without_active_tracing" {
  command = plan

  variables {
    tracing_mode = "PassThrough"
  }

  assert {
    condition     = !contains([for statement in data.aws_iam_policy_document.this.statement : statement.sid], "XRayWrite")
    error_message = "The X-Ray statement (the only one on \"*\") must be left out when tracing is not Active."
  }
}

run "role_is_assumable_by_lambda_only" {
  command = plan

  assert {
    condition = (
      length(data.aws_iam_policy_document.assume_role.statement) == 1
      && data.aws_iam_policy_document.assume_role.statement[0].actions == toset(["sts:AssumeRole"])
      && one(data.aws_iam_policy_document.assume_role.statement[0].principals).identifiers == toset(["lambda.amazonaws.com"])
    )
    error_message = "The role's trust policy must let lambda.amazonaws.com, and nothing else, assume it."
  }

  assert {
    condition     = aws_iam_role_policy.this[0].role == aws_iam_role.this[0].id && aws_iam_role_policy.this[0].policy == data.aws_iam_policy_document.this.json
    error_message = "The least-privilege policy must be attached to the created role."
  }

  assert {
    condition     = aws_lambda_function.this.role == aws_iam_role.this[0].arn
    error_message = "The function must run as the created role."
  }
}

run "extra_statements_are_added_as_given" {
  command = plan

  variables {
    role_policy_statements = {
      WriteOutput = {
        actions   = ["s3:PutObject"]
        resources = ["arn:aws:s3:::orders-out/*"]
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
      for statement in data.aws_iam_policy_document.this.statement : statement
      if statement.sid == "WriteOutput"
      && statement.effect == "Allow"
      && statement.actions == toset(["s3:PutObject"])
      && statement.resources == toset(["arn:aws:s3:::orders-out/*"])
      && length(statement.condition) == 1
    ]) != null
    error_message = "role_policy_statements must be added to the role's policy as given, with their conditions."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.this.statement) == 8
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
