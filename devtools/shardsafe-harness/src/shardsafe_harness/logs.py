"""Read what a function logged to CloudWatch Logs (on LocalStack), for the tests, the demo and the benchmarks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["json_lines", "log_messages", "wait_for_message"]


def log_messages(logs: Any, group: str) -> list[str]:
    """Every message in ``group``, stream by stream, oldest first; [] while the group does not exist."""
    messages: list[str] = []
    try:
        pages = list(logs.get_paginator("describe_log_streams").paginate(logGroupName=group))
    except logs.exceptions.ResourceNotFoundException:
        return []
    for page in pages:
        for log_stream in page["logStreams"]:
            kwargs = {
                "logGroupName": group,
                "logStreamName": log_stream["logStreamName"],
                "startFromHead": True,
            }
            while True:
                response = logs.get_log_events(**kwargs)
                messages += [event["message"] for event in response["events"]]
                if not response["events"] or response["nextForwardToken"] == kwargs.get("nextToken"):
                    break
                kwargs["nextToken"] = response["nextForwardToken"]
    return messages


def wait_for_message(logs: Any, group: str, needle: str, deadline_s: float = 60) -> list[str]:
    """The group's messages once one contains ``needle``; AssertionError with the last ones at the deadline."""
    give_up = time.monotonic() + deadline_s
    while True:
        messages = log_messages(logs, group)
        if any(needle in message for message in messages):
            return messages
        if time.monotonic() > give_up:
            raise AssertionError(
                f"{needle!r} not in the logs of {group} after {deadline_s} s: {messages[-20:]}"
            )
        time.sleep(0.25)


def json_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON objects among ``lines`` (log messages, or captured stdout split into lines), in order."""
    documents = []
    for raw_line in lines:
        line = raw_line.strip()
        if not line.startswith("{"):
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict):
            documents.append(document)
    return documents
