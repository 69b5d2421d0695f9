"""The `shardsafe` command line: arguments, errors a user can fix, output and exit status."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shardsafe.ops.cli import main
from tests.unit.ops.fakes import BUCKET, FakeKinesis, FakeSqs, make_on_failure_body, make_on_failure_object


class FakeClients(dict):
    """The fakes by service name; ``"s3"`` is a moto S3 with the failure bucket, started on first use."""

    def __init__(self) -> None:
        super().__init__(kinesis=FakeKinesis(), sqs=FakeSqs(), made=[])
        self.mock = None

    def __missing__(self, service):
        if service != "s3":
            raise KeyError(service)
        import boto3
        from moto import mock_aws

        self.mock = mock_aws()
        self.mock.start()
        self["s3"] = boto3.client(
            "s3", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
        self["s3"].create_bucket(Bucket=BUCKET)
        return self["s3"]


@pytest.fixture
def fake_aws(monkeypatch):
    """Route the CLI's clients to fakes; returns them for inspection, with the options each was made with."""
    clients = FakeClients()

    def make_client(service, **options):
        clients["made"].append((service, options))
        return clients[service]

    monkeypatch.setattr("shardsafe.ops.cli._common.make_client", make_client)
    yield clients
    if clients.mock is not None:
        clients.mock.stop()


@pytest.mark.parametrize(
    "modules",
    ["shardsafe, shardsafe.ops.cli", "shardsafe.ops.produce, shardsafe.ops.redrive, shardsafe.ops.failures"],
)
def test_importing_the_package_the_cli_and_the_libraries_does_not_import_boto3(modules):
    code = f"import sys, {modules}; print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))"

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--endpoint-url", "http://127.0.0.1:4566", "--region", "eu-west-1", "--profile", "dev", "produce"],
        ["produce", "--endpoint-url", "http://127.0.0.1:4566", "--region", "eu-west-1", "--profile", "dev"],
        ["--endpoint-url", "http://127.0.0.1:4566", "--profile", "dev", "produce", "--region", "eu-west-1"],
    ],
)
def test_global_options_go_before_or_after_the_command(argv, fake_aws):
    assert main([*argv, "--stream", "ticks", "--count", "1"]) == 0

    assert fake_aws["made"] == [
        ("kinesis", {"endpoint_url": "http://127.0.0.1:4566", "region": "eu-west-1", "profile": "dev"})
    ]


def test_produce_output_json_prints_the_summary_as_one_object(capsys, fake_aws):
    status = main(["--output", "json", "produce", "--stream", "ticks", "--count", "20", "--poison", "50%"])

    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["command"] == "produce"
    assert (summary["offered"], summary["put"], summary["failed"]) == (20, 20, 0)
    assert summary["kinds"]["good"] == 10 and sum(summary["kinds"].values()) == 20


def test_redrive_output_json_prints_the_summary_with_every_outcome(tmp_path, capsys, fake_aws):
    kinesis, sqs = fake_aws["kinesis"], fake_aws["sqs"]
    first, last = kinesis.add(b"one"), kinesis.add(b"two")
    sqs.send(make_on_failure_body(shard_id="shardId-000000000000", start=first, end=last, batch_size=2))
    out = tmp_path / "failed.jsonl"

    status = main(
        ["redrive", "--output", "json", "--queue", "q", "--to-file", str(out), "--wait-seconds", "0"]
    )

    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["command"], summary["clean"]) == ("redrive", True)
    assert summary["records"] == {
        "recovered": 2,
        "reput": 0,
        "written": 2,
        "unrecoverable": 0,
        "userRecords": 0,
        "aggregates": 0,
        "aggregatedUserRecords": 0,
    }
    assert [o["action"] for o in summary["outcomes"]] == ["deleted"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--version"],
        ["produce", "--stream", "x", "--version"],
        ["redrive", "--version"],
        ["package", "handler.py", "--version"],
    ],
    ids=["alone", "after-produce", "after-redrive", "after-package"],
)
def test_version_is_printed_before_or_after_any_command(capsys, argv):
    from shardsafe import __version__

    with pytest.raises(SystemExit) as exit_:
        main(argv)

    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"shardsafe {__version__}"


def test_python_dash_m_shardsafe_runs_the_command():
    completed = subprocess.run(
        [sys.executable, "-m", "shardsafe", "redrive", "--help"], capture_output=True, text=True, check=True
    )

    assert completed.stdout.startswith("usage: shardsafe redrive")
    assert "--endpoint-url URL" in completed.stdout and "--output {text,json}" in completed.stdout


def test_unknown_profile_is_an_error_that_names_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))

    status = main(["--profile", "nope", "produce", "--stream", "ticks", "--count", "1"])

    assert status == 2
    assert "no AWS profile 'nope': check --profile / AWS_PROFILE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--poison", "150%"], "--poison '150%' is outside 0%..100%"),
        (["--poison", "5"], "write 5% for a percentage"),
        (["--poison-kinds", "crash"], "unknown kind crash"),
        (["--rate", "0"], "--rate 0.0 must be above 0"),
        (["--input", "/nonexistent/in.jsonl"], "cannot read --input /nonexistent/in.jsonl"),
        (["--key-field", "TICKER"], "give --input FILE as well"),
    ],
)
def test_produce_refuses_bad_input_with_the_value_and_the_fix(argv, says, capsys, fake_aws):
    status = main(["produce", "--stream", "ticks", *argv])

    assert status == 2
    assert says in capsys.readouterr().err
    assert fake_aws["kinesis"].put_calls == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--count", "-1"], "argument --count: -1 is below 0: give how many records to put"),
        (["--count", "many"], "argument --count: 'many' is not a whole number"),
        (["--keys", "0"], "argument --keys: 0 is below 1"),
    ],
)
def test_produce_refuses_bad_numbers_before_doing_anything(argv, says, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["produce", "--stream", "ticks", *argv])

    assert exit_.value.code == 2
    assert says in capsys.readouterr().err


def test_produce_invalid_json_line_names_the_file_and_line(tmp_path, capsys, fake_aws):
    source = tmp_path / "in.jsonl"
    source.write_text('{"a": 1}\n{"a": }\n')

    status = main(["produce", "--stream", "ticks", "--input", str(source)])

    assert status == 2
    assert f"{source} line 2 is not JSON" in capsys.readouterr().err
    assert fake_aws["kinesis"].put_calls == []


def test_produce_puts_records_writes_the_manifest_and_prints_the_counts(tmp_path, capsys, fake_aws):
    manifest = tmp_path / "put.jsonl"

    status = main(
        [
            "produce",
            "--stream",
            "ticks",
            "--count",
            "40",
            "--poison",
            "25%",
            "--seed",
            "3",
            "--manifest",
            str(manifest),
        ]
    )

    assert status == 0
    out = capsys.readouterr().out
    assert out.startswith("put 40 of 40 records on ticks")
    assert "30 good, 10 poison" in out
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(lines) == 40 and sum(line["kind"] != "good" for line in lines) == 10


def test_produce_from_stdin_keeps_the_bytes(monkeypatch, capsys, fake_aws):
    class Stdin:
        buffer = __import__("io").BytesIO(b'{"TICKER": "AAPL"}\n{"TICKER": "MSFT"}\n')

    monkeypatch.setattr(sys, "stdin", Stdin)

    status = main(["produce", "--stream", "ticks", "--input", "-", "--key-field", "TICKER"])

    assert status == 0
    assert fake_aws["kinesis"].data() == [("AAPL", b'{"TICKER": "AAPL"}'), ("MSFT", b'{"TICKER": "MSFT"}')]


def test_produce_progress_bar_goes_to_stderr_when_asked(capsys, fake_aws):
    main(["produce", "--stream", "ticks", "--count", "5", "--progress"])

    captured = capsys.readouterr()
    assert "5/5 100%" in captured.err
    assert "5/5" not in captured.out


def test_redrive_to_a_file_prints_each_message_and_the_summary(tmp_path, capsys, fake_aws):
    kinesis, sqs = fake_aws["kinesis"], fake_aws["sqs"]
    first, last = kinesis.add(b"one"), kinesis.add(b"two")
    sqs.send(make_on_failure_body(shard_id="shardId-000000000000", start=first, end=last, batch_size=2))
    out = tmp_path / "failed.jsonl"

    status = main(["redrive", "--queue", "ticks-failures", "--to-file", str(out), "--wait-seconds", "0"])

    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(
        "deleted: m-1: on-failure batch (RetryAttemptsExhausted) shardId-000000000000"
    )
    assert printed[-1].startswith("redrive: messages read 1")
    assert len(out.read_text().splitlines()) == 2


def test_redrive_with_something_unrecoverable_exits_1_and_says_so(tmp_path, capsys, fake_aws):
    fake_aws["sqs"].send("garbage")

    status = main(["redrive", "--queue", "q", "--to-stream", "--wait-seconds", "0"])

    assert status == 1
    err = capsys.readouterr().err
    assert '"event": "unrecoverable"' in err
    assert "1 messages kept" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--to-file", "/nonexistent/dir/out.jsonl"], "folder /nonexistent/dir does not exist"),
        (["--to-stream", "--wait-seconds", "30"], "--wait-seconds 30 is above SQS's maximum of 20"),
        (["--to-stream", "--since", "1h", "--until", "2h"], "is not before --until"),
    ],
)
def test_redrive_refuses_bad_input_with_the_fix(argv, says, capsys, fake_aws):
    assert main(["redrive", "--queue", "q", *argv]) == 2
    assert says in capsys.readouterr().err


def test_redrive_reads_a_bucket_with_a_prefix_and_prints_each_object(tmp_path, capsys, fake_aws):
    s3 = fake_aws["s3"]
    key = "aws/lambda/esm/shardId-000000000000/2026/01/01/2026-01-01T00.05.00-u"
    records = [(b"one", "k", "5"), (b"two", "k", "6")]
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(make_on_failure_object(records, shape="aws")))
    s3.put_object(Bucket=BUCKET, Key="elsewhere/x", Body=b"not read: outside the prefix")
    out = tmp_path / "failed.jsonl"

    status = main(["redrive", "--bucket", BUCKET, "--prefix", "aws/lambda/", "--to-file", str(out)])

    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"deleted: s3://{BUCKET}/{key}: on-failure batch (RetryAttemptsExhausted)")
    assert printed[-1].startswith("redrive: objects read 1")
    assert [json.loads(line)["sequenceNumber"] for line in out.read_text().splitlines()] == ["5", "6"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["elsewhere/x"]


def test_redrive_bucket_output_json_has_each_records_sha256_and_the_bar_goes_to_stderr(
    tmp_path, capsys, fake_aws
):
    import hashlib

    s3 = fake_aws["s3"]
    records = [(b"one", "k", "5"), (b"\x00two", "k", "6")]
    s3.put_object(
        Bucket=BUCKET, Key="aws/lambda/e/s/2026/01/01/t-u", Body=json.dumps(make_on_failure_object(records))
    )

    status = main(
        [
            "--output",
            "json",
            "redrive",
            "--bucket",
            BUCKET,
            "--to-file",
            str(tmp_path / "o.jsonl"),
            "--progress",
        ]
    )

    assert status == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["source"], summary["unit"]) == (f"bucket s3://{BUCKET}/", "objects")
    [outcome] = summary["outcomes"]
    assert [r["sha256"] for r in outcome["records"]] == [hashlib.sha256(d).hexdigest() for d, _, _ in records]
    assert "1/1 100%" in captured.err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--queue", "q", "--bucket", "b", "--to-stream"], "not allowed with argument"),
        (["--to-stream"], "one of the arguments --queue --bucket --dlq is required"),
    ],
)
def test_redrive_takes_a_queue_or_a_bucket(argv, says, capsys):
    with pytest.raises(SystemExit):
        main(["redrive", *argv])

    assert says in capsys.readouterr().err


def test_redrive_prefix_without_a_bucket_is_refused(capsys, fake_aws):
    assert main(["redrive", "--queue", "q", "--prefix", "aws/", "--to-stream"]) == 2
    assert (
        "--prefix 'aws/' selects objects of a bucket: give --bucket NAME as well" in capsys.readouterr().err
    )


def test_redrive_needs_exactly_one_target(capsys):
    with pytest.raises(SystemExit):
        main(["redrive", "--queue", "q"])

    assert (
        "one of the arguments --to-stream --to-function --to-queue --to-file is required"
        in capsys.readouterr().err
    )


def test_redrive_refuses_a_time_it_cannot_read(capsys):
    with pytest.raises(SystemExit):
        main(["redrive", "--queue", "q", "--to-stream", "--since", "last tuesday"])

    assert "'last tuesday' is not a time: write ISO 8601" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["produce", "redrive"])
def test_help_shows_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])

    assert exit_.value.code == 0
    assert f"shardsafe {command} --" in capsys.readouterr().out


def test_missing_region_is_an_error_that_says_how_to_set_it(monkeypatch, tmp_path, capsys):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    status = main(["produce", "--stream", "ticks", "--count", "1"])

    assert status == 2
    assert "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION) or pass --region" in capsys.readouterr().err


def test_aws_region_variable_is_honoured(monkeypatch, tmp_path):
    from shardsafe.ops.aws import make_client

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_REGION", "eu-west-3")

    assert make_client("kinesis").meta.region_name == "eu-west-3"


def test_produce_aggregate_puts_kpl_aggregates_and_the_manifest_names_each_user_record(
    tmp_path, capsys, fake_aws
):
    from shardsafe.core.sources.kpl import deaggregate

    manifest = tmp_path / "put.jsonl"
    argv = ["produce", "--stream", "ticks", "--count", "30", "--poison", "20%", "--seed", "5"]
    status = main([*argv, "--aggregate", "10", "--manifest", str(manifest)])

    assert status == 0
    assert "put 30 of 30 records on ticks as 3 Kinesis records (30 user records in 3 KPL aggregates)" in (
        capsys.readouterr().out
    )
    stored = dict(
        (r["SequenceNumber"], r["Data"])
        for shard in fake_aws["kinesis"].shards.values()
        for r in shard.records
    )
    lines = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [line["subSequenceNumber"] for line in lines] == [n % 10 for n in range(30)]
    assert sum(line["kind"] != "good" for line in lines) == 6
    for line in lines:
        key, _, data = deaggregate(stored[line["sequenceNumber"]])[line["subSequenceNumber"]]
        assert key == line["partitionKey"] and len(data) == line["size"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--aggregate-share", "30%"], "give --aggregate N too"),
        (["--aggregate", "5", "--aggregate-share", "3"], "--aggregate-share '3' is more than 1"),
    ],
)
def test_produce_refuses_a_share_of_aggregates_it_cannot_make(argv, says, capsys, fake_aws):
    assert main(["produce", "--stream", "ticks", *argv]) == 2
    assert says in capsys.readouterr().err
    assert fake_aws["kinesis"].put_calls == []


def test_produce_aggregate_must_be_a_positive_count(capsys):
    with pytest.raises(SystemExit):
        main(["produce", "--stream", "ticks", "--aggregate", "0"])
    assert "argument --aggregate: 0 is below 1" in capsys.readouterr().err
