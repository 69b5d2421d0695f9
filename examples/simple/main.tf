# The smallest useful call: a new stream, the shardsafe function reading it, and everything that
# keeps it safe (bisect, finite retries, failure bucket, quarantine queue, encryption, log
# retention, alarms, dashboard) at the module's defaults.

provider "aws" {
  region = var.region
}

module "pipeline" {
  source = "../../"

  name              = var.name
  function_zip_path = var.function_zip_path
  alarm_actions     = var.alarm_actions
}
