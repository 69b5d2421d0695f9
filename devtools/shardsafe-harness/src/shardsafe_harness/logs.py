"""Read what a function logged to CloudWatch Logs (on LocalStack), for the tests, the demo and the benchmarks."""

from __future__ import annotations

import time
from typing import Any


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
