"""examples/sqs-queue/README.md's commands, run as written, end with the sent message processed.

The commands run as tests/e2e/readme_support.py says (a copy of the example, LocalStack, a unique name).
The last one sends the README's stock tick to the source queue; the function's log must then say it
processed that one message (the batch summary line) and the queue must be drained of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from shardsafe_harness.logs import log_messages

from tests.e2e.readme_support import ReadmeRun, readme_commands

pytestmark = pytest.mark.terraform  # applies Terraform: scheduled first

EXAMPLE = "sqs-queue"
DEADLINE_S = 180.0


@pytest.fixture
def readme(localstack_endpoint: str, tmp_path: Path) -> Iterator[ReadmeRun]:
    run = ReadmeRun(EXAMPLE, localstack_endpoint, tmp_path)
    yield run
    run.destroy()


def test_the_readme_commands_end_with_the_message_processed(
    readme: ReadmeRun, aws_client: Callable[[str], Any]
) -> None:
    commands = readme_commands(EXAMPLE)
    assert commands[0].startswith("make package") and commands[1] == f"cd examples/{EXAMPLE}"
    assert commands[-2].startswith("aws sqs send-message"), commands  # the last command spans two lines
    readme.run(commands)

    group = f"/aws/lambda/{readme.output('function_name')}"
    summaries: list[dict[str, Any]] = []
    give_up = time.monotonic() + DEADLINE_S
    while not summaries and time.monotonic() < give_up:
        lines = [json.loads(m) for m in log_messages(aws_client("logs"), group) if m.startswith("{")]
        summaries = [line for line in lines if line.get("event") == "shardsafe.batch"]
        if not summaries:
            time.sleep(1.0)
    assert summaries, f"no batch summary in {group} within {DEADLINE_S:.0f} s"
    assert [(s["event_source"], s["received"], s["processed"], s["quarantined"]) for s in summaries] == [
        ("aws:sqs", 1, 1, 0)
    ]
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=readme.output("source_queue_url"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    ) == (
        "0",
        "0",
    ), "the processed message is deleted from the queue"
