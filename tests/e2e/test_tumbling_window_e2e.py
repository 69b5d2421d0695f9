"""examples/tumbling-window/README.md's commands, run as written: each window's state is carried across
invocations, and the windows' counts are the good records put, partition key by partition key.

The commands run as tests/e2e/readme_support.py says. ``shardsafe produce`` puts 200 records, 10 % poison,
and writes put.jsonl (each record's kind and partition key); the mapping has a 30-second tumbling window
and batches of 10, so a window spans many invocations. The embedded LocalStack does tumbling windows
through shardsafe's plugin (shardsafe_localstack.tumbling_window). The last command (``aws s3 ls`` of the
windows' results) is polled until the counts of the windows written add up to every good record put;
they must then match put.jsonl exactly, and some window must have had records from more than one
invocation: its state came back to the function, as Lambda hands it back.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.readme_support import ReadmeRun, readme_commands

EXAMPLE = "tumbling-window"
DEADLINE_S = 240.0


@pytest.fixture
def readme(localstack_endpoint: str, tmp_path: Path) -> Iterator[ReadmeRun]:
    run = ReadmeRun(EXAMPLE, localstack_endpoint, tmp_path)
    yield run
    run.destroy()


def test_window_state_is_carried_across_invocations_and_counts_every_good_record(
    readme: ReadmeRun, aws_client: Callable[[str], Any]
) -> None:
    commands = readme_commands(EXAMPLE)
    assert commands[-1].startswith("aws s3 ls") and "--manifest put.jsonl" in commands[-2]
    readme.run(commands[:-1])
    put = [json.loads(line) for line in (readme.cwd / "put.jsonl").read_text().splitlines()]
    expected = Counter(line["partitionKey"] for line in put if line["kind"] == "good")
    assert sum(expected.values()) == 180 and len(put) == 200

    s3, bucket = aws_client("s3"), readme.output("output_bucket_name")
    give_up = time.monotonic() + DEADLINE_S
    windows: dict[str, dict[str, Any]] = {}
    while time.monotonic() < give_up:
        for key in re.findall(r"windows/\S+\.json", readme.more(commands[-1], ok=(0, 1))):
            windows.setdefault(key, json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
        if sum(sum(window["counts"].values()) for window in windows.values()) >= sum(expected.values()):
            break
        time.sleep(2.0)

    counted: Counter[str] = Counter()
    for window in windows.values():
        counted.update(window["counts"])
    assert counted == expected, f"windows {sorted(windows)} counted {dict(counted)}"
    assert max(window["batches"] for window in windows.values()) > 1, "no window's state spanned invocations"
    for key, window in windows.items():
        assert key == f"windows/{window['shardId']}/{window['window']['start']}.json"
        assert window["terminatedEarly"] is False
