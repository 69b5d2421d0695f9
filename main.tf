# The module is split by concern. Each file holds a concern's resources, its locals and the IAM
# statements that grant what it needs, so that a grant sits beside what it grants; iam.tf puts the
# statements together into the role's one policy.
#
#   source.tf               the stream or queue the function reads
#   function.tf             the function, its log group, network, version and alias
#   iam.tf                  the execution role and its policy
#   mapping.tf              the event source mapping (bisect, retries, record age, scaling)
#   failure_destination.tf  where the mapping sends what it gives up on (the failure bucket)
#   quarantine.tf           where the handler sends what it cannot process, and claim checks
#   idempotency.tf          the optional idempotency table
#   large_messages.tf       read access to SQS/SNS extended-client payload buckets
#   alarms.tf, dashboard.tf what operators watch
#   layer.tf                shardsafe's Lambda layer

# --- General ---

# The provider's region (no API call): the dashboard's name, the ENI permissions of a function in a
# VPC, and whether an existing stream can be looked up. aws_region's `name` is deprecated in
# provider 6, whose `region` 5.x lacks; aws_service's `region` is the same in both.
data "aws_service" "lambda" {
  service_id = "lambda"
}

locals {
  region = data.aws_service.lambda.region

  role_arn = var.create_role ? aws_iam_role.this[0].arn : var.role_arn
  # The account the function runs in: its execution role's
  # (arn:<partition>:iam::<account>:role/<name>), which is always the function's own.
  account_id = split(":", local.role_arn)[4]
  partition  = data.aws_service.lambda.partition
}
