# --- Versions ---
# Minimum versions only. Terraform 1.9 is the first with validations that compare variables
# (`stream_arn` is required when `create_stream` is false). The AWS provider accepts the
# python3.13 runtime from the 5.7x series on; 5.100 is the version this module is tested with.
# No argument that provider 6.x deprecates is used, so 6.x is admitted.
terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80"
    }
  }
}
