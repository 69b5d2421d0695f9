# --- Versions ---
# Terraform 1.11: the plan tests (tests/*.tftest.hcl) need override_during, new in 1.11; the module
# alone needs 1.9 (validations that refer to other variables and to locals).
# AWS provider: tested with 5.100 (the version this repository pins); 6.x is admitted, and no
# argument or attribute the 6.0 upgrade guide removes or deprecates is used (the region comes from
# aws_service, not aws_region's deprecated `name`). 5.80 is the oldest with everything used here
# (provisioned_poller_config, python3.13); 7.0, untested, is refused.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 7.0"
    }
  }
}
