"""examples/dynamodb-stream/README.md's commands, run as written, end with the put item processed.

The commands run as tests/e2e/readme_support.py says (a copy of the example, LocalStack, a unique name).
The last one (``aws s3 ls`` of the output bucket) is polled until it lists the processed change, and that
object must hold the item as templates/dynamodb_handler.py writes it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.readme_support import ReadmeRun, readme_commands

EXAMPLE = "dynamodb-stream"
DEADLINE_S = 180.0


@pytest.fixture
def readme(localstack_endpoint: str, tmp_path: Path) -> Iterator[ReadmeRun]:
    run = ReadmeRun(EXAMPLE, localstack_endpoint, tmp_path)
    yield run
    run.destroy()


def test_the_readme_commands_end_with_the_item_processed(
    readme: ReadmeRun, aws_client: Callable[[str], Any]
) -> None:
    commands = readme_commands(EXAMPLE)
    assert commands[0] == "make package" and commands[1] == f"cd examples/{EXAMPLE}"
    assert commands[-1].startswith("aws s3 ls")
    readme.run(commands[:-1])

    give_up = time.monotonic() + DEADLINE_S
    listed: list[str] = []
    while not listed and time.monotonic() < give_up:
        listed = re.findall(r"processed/\S+\.json", readme.more(commands[-1], ok=(0, 1)))  # 1: nothing yet
        if not listed:
            time.sleep(1.0)
    assert len(listed) == 1, f"the last command listed {listed}, not the one processed change"

    table = readme.output("table_name")
    assert listed[0].startswith(f"processed/{table}/")
    body = (
        aws_client("s3").get_object(Bucket=readme.output("output_bucket_name"), Key=listed[0])["Body"].read()
    )
    document = json.loads(body)
    assert document["table"] == table and document["eventName"] == "INSERT"
    assert document["item"] == {"pk": "order-1", "amount": 12.5}
    assert document["keys"] == {"pk": "order-1"}
    assert listed[0] == f"processed/{table}/{document['sequenceNumber']}.json"
