# shardsafe's Lambda layer: published from a zip (create_layer) or given by ARN (layer_arn), and
# attached to the function ahead of the caller's own layers; one failing run per validation.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

override_resource {
  target          = aws_lambda_layer_version.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:eu-west-1:111122223333:layer:orders-shardsafe:3"
  }
}

variables {
  name              = "orders"
  function_zip_path = "tests/fixtures/lambda-fixture.zip"
  # Alarms that notify someone: without, a check block warns (and fails a test run).
  alarm_actions = ["arn:aws:sns:eu-west-1:111122223333:oncall"]
}

run "no_layer_by_default" {
  command = plan

  assert {
    condition     = length(aws_lambda_layer_version.this) == 0
    error_message = "No layer may be published unless create_layer is true."
  }

  assert {
    condition     = length(aws_lambda_function.this.layers) == 0 && output.layer_arn == null
    error_message = "Without create_layer or layer_arn the function has only the caller's layers, and layer_arn is null."
  }
}

run "created_layer_is_published_for_the_runtime_and_attached_first" {
  command = plan

  variables {
    create_layer   = true
    layer_zip_path = "tests/fixtures/lambda-fixture.zip"
    runtime        = "python3.12"
    architecture   = "arm64"
    layers         = ["arn:aws:lambda:eu-west-1:111122223333:layer:team-tools:7"]
  }

  assert {
    condition     = aws_lambda_layer_version.this[0].layer_name == "orders-shardsafe"
    error_message = "The layer must be named <name>-shardsafe when layer_name is null."
  }

  assert {
    condition     = aws_lambda_layer_version.this[0].compatible_runtimes == toset(["python3.12"]) && aws_lambda_layer_version.this[0].compatible_architectures == toset(["arm64"])
    error_message = "The layer must be published for the function's runtime and architecture only."
  }

  assert {
    condition     = aws_lambda_layer_version.this[0].source_code_hash == filebase64sha256("tests/fixtures/lambda-fixture.zip")
    error_message = "The layer must be pinned by its zip's hash, so a rebuilt layer is published again."
  }

  assert {
    condition     = aws_lambda_function.this.layers == tolist(["arn:aws:lambda:eu-west-1:111122223333:layer:orders-shardsafe:3", "arn:aws:lambda:eu-west-1:111122223333:layer:team-tools:7"])
    error_message = "The function must have the published layer first, then the caller's layers in order."
  }

  assert {
    condition     = output.layer_arn == "arn:aws:lambda:eu-west-1:111122223333:layer:orders-shardsafe:3"
    error_message = "layer_arn must be the published layer version's ARN."
  }
}

run "layer_name_overrides_the_default" {
  command = plan

  variables {
    create_layer   = true
    layer_zip_path = "tests/fixtures/lambda-fixture.zip"
    layer_name     = "shared-shardsafe"
  }

  assert {
    condition     = aws_lambda_layer_version.this[0].layer_name == "shared-shardsafe"
    error_message = "layer_name must name the published layer."
  }
}

run "existing_layer_is_attached_without_publishing_one" {
  command = plan

  variables {
    layer_arn = "arn:aws:lambda:eu-west-1:111122223333:layer:shardsafe:12"
  }

  assert {
    condition     = length(aws_lambda_layer_version.this) == 0
    error_message = "No layer may be published when layer_arn names one."
  }

  assert {
    condition     = aws_lambda_function.this.layers == tolist(["arn:aws:lambda:eu-west-1:111122223333:layer:shardsafe:12"]) && output.layer_arn == "arn:aws:lambda:eu-west-1:111122223333:layer:shardsafe:12"
    error_message = "The function must have the existing layer, and layer_arn must be it."
  }
}

run "create_layer_needs_a_zip" {
  command = plan

  variables {
    create_layer = true
  }

  expect_failures = [var.create_layer]
}

run "layer_zip_path_must_name_a_file" {
  command = plan

  variables {
    create_layer   = true
    layer_zip_path = "build/no-such-layer.zip"
  }

  expect_failures = [var.layer_zip_path]
}

run "layer_name_must_be_a_lambda_layer_name" {
  command = plan

  variables {
    create_layer   = true
    layer_zip_path = "tests/fixtures/lambda-fixture.zip"
    layer_name     = "shardsafe layer!"
  }

  expect_failures = [var.layer_name]
}

run "layer_arn_must_be_a_layer_version_arn" {
  command = plan

  variables {
    layer_arn = "arn:aws:lambda:eu-west-1:111122223333:layer:shardsafe"
  }

  expect_failures = [var.layer_arn]
}

run "create_layer_and_layer_arn_are_exclusive" {
  command = plan

  variables {
    create_layer   = true
    layer_zip_path = "tests/fixtures/lambda-fixture.zip"
    layer_arn      = "arn:aws:lambda:eu-west-1:111122223333:layer:shardsafe:12"
  }

  expect_failures = [var.layer_arn]
}

run "shardsafe_layer_leaves_room_for_four_more" {
  command = plan

  variables {
    layer_arn = "arn:aws:lambda:eu-west-1:111122223333:layer:shardsafe:12"
    layers = [
      "arn:aws:lambda:eu-west-1:111122223333:layer:a:1",
      "arn:aws:lambda:eu-west-1:111122223333:layer:b:1",
      "arn:aws:lambda:eu-west-1:111122223333:layer:c:1",
      "arn:aws:lambda:eu-west-1:111122223333:layer:d:1",
      "arn:aws:lambda:eu-west-1:111122223333:layer:e:1",
    ]
  }

  expect_failures = [var.layer_arn]
}

run "own_project_example_attaches_the_layer_it_publishes" {
  command = plan

  module {
    source = "./examples/own-project"
  }

  variables {
    function_zip_path = "tests/fixtures/lambda-fixture.zip"
    layer_zip_path    = "tests/fixtures/lambda-fixture.zip"
  }

  override_resource {
    target          = module.pipeline.aws_lambda_layer_version.this
    override_during = plan
    values = {
      arn = "arn:aws:lambda:eu-west-1:111122223333:layer:ticks-shardsafe:1"
    }
  }

  assert {
    condition     = output.layer_arn == "arn:aws:lambda:eu-west-1:111122223333:layer:ticks-shardsafe:1"
    error_message = "examples/own-project with layer_zip_path must publish shardsafe's layer and use it."
  }
}

run "own_project_example_without_a_layer_has_shardsafe_in_its_zip" {
  command = plan

  module {
    source = "./examples/own-project"
  }

  variables {
    function_zip_path = "tests/fixtures/lambda-fixture.zip"
  }

  assert {
    condition     = output.layer_arn == null
    error_message = "examples/own-project without layer_zip_path must attach no shardsafe layer."
  }
}
