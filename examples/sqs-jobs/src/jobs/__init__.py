"""A job split into tasks on an SQS queue, each task run once by shardsafe workers (see ../README.md)."""
