# The optional idempotency table (AWS Lambda Powertools' layout) and the large-message payload
# buckets: each is told to the function, and the role may use each exactly as the handler needs.

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

# --- Idempotency table ---

run "no_idempotency_table_by_default" {
  command = plan

  assert {
    condition = (
      length(aws_dynamodb_table.idempotency) == 0
      && !contains(keys(aws_lambda_function.this.environment[0].variables), "SHARDSAFE_IDEMPOTENCY_TABLE")
      && !anytrue([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : anytrue([for action in flatten([statement.Action]) : startswith(action, "dynamodb:")])])
    )
    error_message = "Without idempotency_table there is no table, no variable and no DynamoDB permission."
  }
}

run "created_table_has_the_powertools_layout" {
  command = plan

  variables {
    idempotency_table = { create = true }
  }

  assert {
    condition = (
      aws_dynamodb_table.idempotency[0].name == "orders-idempotency"
      && aws_dynamodb_table.idempotency[0].billing_mode == "PAY_PER_REQUEST"
      && aws_dynamodb_table.idempotency[0].hash_key == "id"
      && aws_dynamodb_table.idempotency[0].range_key == null
      && aws_dynamodb_table.idempotency[0].attribute == toset([{ name = "id", type = "S" }])
      && aws_dynamodb_table.idempotency[0].ttl[0].attribute_name == "expiration"
      && aws_dynamodb_table.idempotency[0].ttl[0].enabled == true
    )
    error_message = "The table must be on-demand, keyed by id (a string), with time to live on expiration: Powertools' idempotency layout."
  }

  assert {
    condition = (
      aws_dynamodb_table.idempotency[0].point_in_time_recovery[0].enabled == true
      && aws_dynamodb_table.idempotency[0].deletion_protection_enabled == false
      && aws_dynamodb_table.idempotency[0].server_side_encryption[0].enabled == false
    )
    error_message = "By default: point-in-time recovery on, deletion protection off, DynamoDB's own key."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_IDEMPOTENCY_TABLE"] == "orders-idempotency"
    error_message = "The function must be told the table's name."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : [flatten([statement.Action]), flatten([statement.Resource]), try(statement.Condition, null)]
      if statement.Sid == "IdempotencyTableReadWrite"
      ]) == [
      ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem"],
      ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders-idempotency"],
      null,
    ]
    error_message = "The role may call exactly the three item actions the layer calls (BatchGetItem, BatchWriteItem, PutItem), on the table itself (no index, no stream, no wildcard)."
  }

  assert {
    condition     = !contains([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid], "IdempotencyTableKeyUse")
    error_message = "Without a customer key the role needs no KMS permission for the table."
  }

  assert {
    condition     = output.idempotency_table_name == "orders-idempotency" && output.idempotency_table_arn == "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-idempotency"
    error_message = "The outputs must name the table."
  }
}

run "created_table_takes_the_customer_key_protection_and_name" {
  command = plan

  variables {
    idempotency_table = {
      create                 = true
      name                   = "orders-seen"
      kms_key_arn            = "arn:aws:kms:eu-west-1:111122223333:key/88888888-7777-8888-9999-000000000000"
      point_in_time_recovery = false
      deletion_protection    = true
    }
  }

  assert {
    condition = (
      aws_dynamodb_table.idempotency[0].name == "orders-seen"
      && aws_dynamodb_table.idempotency[0].server_side_encryption[0].enabled == true
      && aws_dynamodb_table.idempotency[0].server_side_encryption[0].kms_key_arn == "arn:aws:kms:eu-west-1:111122223333:key/88888888-7777-8888-9999-000000000000"
      && aws_dynamodb_table.idempotency[0].point_in_time_recovery[0].enabled == false
      && aws_dynamodb_table.idempotency[0].deletion_protection_enabled == true
    )
    error_message = "name, kms_key_arn, point_in_time_recovery and deletion_protection must configure the table."
  }

  assert {
    condition = one([
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : [flatten([statement.Action]), flatten([statement.Resource]), statement.Condition]
      if statement.Sid == "IdempotencyTableKeyUse"
      ]) == [
      ["kms:Decrypt"],
      ["arn:aws:kms:eu-west-1:111122223333:key/88888888-7777-8888-9999-000000000000"],
      { StringEquals = { "kms:ViaService" = ["dynamodb.eu-west-1.amazonaws.com"] } },
    ]
    error_message = "With a customer key the role may decrypt with it through DynamoDB only."
  }
}

run "existing_table_is_used_without_creating_one" {
  command = plan

  variables {
    idempotency_table = { arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/powertools-idempotency" }
  }

  assert {
    condition = (
      length(aws_dynamodb_table.idempotency) == 0
      && aws_lambda_function.this.environment[0].variables["SHARDSAFE_IDEMPOTENCY_TABLE"] == "powertools-idempotency"
      && one([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : flatten([statement.Resource]) if statement.Sid == "IdempotencyTableReadWrite"]) == ["arn:aws:dynamodb:eu-west-1:111122223333:table/powertools-idempotency"]
    )
    error_message = "An existing table is named to the function and granted, not created."
  }
}

run "table_created_and_given_is_rejected" {
  command = plan

  variables {
    idempotency_table = { create = true, arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/powertools-idempotency" }
  }

  expect_failures = [var.idempotency_table]
}

run "table_arn_with_a_wildcard_is_rejected" {
  command = plan

  variables {
    idempotency_table = { arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/*" }
  }

  expect_failures = [var.idempotency_table]
}

run "table_index_arn_is_rejected" {
  command = plan

  variables {
    idempotency_table = { arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/ids/index/by-status" }
  }

  expect_failures = [var.idempotency_table]
}

run "table_name_without_creating_it_is_rejected" {
  command = plan

  variables {
    idempotency_table = { name = "orders-seen" }
  }

  expect_failures = [var.idempotency_table]
}

run "table_key_without_a_table_is_rejected" {
  command = plan

  variables {
    idempotency_table = { kms_key_arn = "arn:aws:kms:eu-west-1:111122223333:key/88888888-7777-8888-9999-000000000000" }
  }

  expect_failures = [var.idempotency_table]
}

run "idempotency_table_variable_is_reserved" {
  command = plan

  variables {
    environment_variables = { SHARDSAFE_IDEMPOTENCY_TABLE = "other" }
  }

  expect_failures = [var.environment_variables]
}

# --- Large-message payload buckets ---

run "payload_buckets_are_readable_and_named_to_the_function" {
  command = plan

  variables {
    large_message_buckets = {
      bucket_arns  = ["arn:aws:s3:::orders-payloads", "arn:aws:s3:::partner-payloads"]
      kms_key_arns = ["arn:aws:kms:eu-west-1:111122223333:key/99999999-7777-8888-9999-000000000000"]
    }
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables["SHARDSAFE_LARGE_MESSAGE_BUCKETS"] == "orders-payloads,partner-payloads"
    error_message = "The function must be told the buckets' names, comma-separated."
  }

  assert {
    condition = {
      for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid => [flatten([statement.Action]), flatten([statement.Resource]), try(statement.Condition, null)]
      if startswith(statement.Sid, "LargeMessage")
      } == {
      LargeMessageRead   = [["s3:GetObject"], ["arn:aws:s3:::orders-payloads/*", "arn:aws:s3:::partner-payloads/*"], null]
      LargeMessageList   = [["s3:ListBucket"], ["arn:aws:s3:::orders-payloads", "arn:aws:s3:::partner-payloads"], null]
      LargeMessageKeyUse = [["kms:Decrypt"], ["arn:aws:kms:eu-west-1:111122223333:key/99999999-7777-8888-9999-000000000000"], { StringEquals = { "kms:ViaService" = ["s3.eu-west-1.amazonaws.com"] } }]
    }
    error_message = "The role may get objects of the named buckets and list those buckets only (so a missing payload is 404, not 403), and decrypt with their keys through S3 only."
  }

  assert {
    condition     = output.large_message_bucket_names == ["orders-payloads", "partner-payloads"]
    error_message = "large_message_bucket_names must list the buckets."
  }
}

run "no_payload_bucket_no_permission" {
  command = plan

  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "SHARDSAFE_LARGE_MESSAGE_BUCKETS") && !contains([for statement in jsondecode(aws_iam_role_policy.this[0].policy).Statement : statement.Sid], "LargeMessageRead")
    error_message = "Without large_message_buckets the function gets no variable and no read permission."
  }
}

run "payload_bucket_with_a_wildcard_is_rejected" {
  command = plan

  variables {
    large_message_buckets = { bucket_arns = ["arn:aws:s3:::orders-*"] }
  }

  expect_failures = [var.large_message_buckets]
}

run "payload_bucket_with_a_path_is_rejected" {
  command = plan

  variables {
    large_message_buckets = { bucket_arns = ["arn:aws:s3:::orders-payloads/large/*"] }
  }

  expect_failures = [var.large_message_buckets]
}

run "payload_keys_without_buckets_are_rejected" {
  command = plan

  variables {
    large_message_buckets = { kms_key_arns = ["arn:aws:kms:eu-west-1:111122223333:key/99999999-7777-8888-9999-000000000000"] }
  }

  expect_failures = [var.large_message_buckets]
}
