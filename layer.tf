# --- Layer ---
# shardsafe and its dependencies as a Lambda layer, published here or given by ARN, attached first.

locals {
  # shardsafe's layer goes first: Lambda applies layers in order, so one later in `layers` can
  # override a file it holds.
  shardsafe_layer_arn = var.create_layer ? aws_lambda_layer_version.this[0].arn : var.layer_arn
  function_layers     = var.create_layer || var.layer_arn != null ? concat([local.shardsafe_layer_arn], var.layers) : var.layers
}

# shardsafe and its runtime dependencies under python/ (`make layer`, `shardsafe package --layer`),
# so the function's own zip holds only the caller's code (`shardsafe package --thin`).
resource "aws_lambda_layer_version" "this" {
  count = var.create_layer ? 1 : 0

  layer_name               = coalesce(var.layer_name, "${var.name}-shardsafe")
  description              = "shardsafe and its runtime dependencies, for ${var.runtime} on ${var.architecture}"
  filename                 = var.layer_zip_path
  source_code_hash         = filebase64sha256(var.layer_zip_path)
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]
}
