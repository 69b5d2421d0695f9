"""What a batch tells operators: JSON log lines, the summary, metrics, tracing."""
