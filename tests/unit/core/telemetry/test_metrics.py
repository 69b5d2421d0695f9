"""EMF metrics: the document CloudWatch turns into the metrics the module's alarms read."""

from __future__ import annotations

import pytest

from shardsafe import EmfMetrics
from tests import factories


def test_emf_document_names_the_contract_metrics(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARDSAFE_METRICS_NAMESPACE", "ticks")
    EmfMetrics().record_batch(
        processed=7, skipped=0, quarantined=2, handed_back=1, duration_ms=12.5, function_name="fn"
    )
    [document] = factories.json_lines(capsys.readouterr().out)
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ticks"
    assert directive["Dimensions"] == [["FunctionName"]]
    assert directive["Metrics"] == [
        {"Name": "RecordsProcessed", "Unit": "Count"},
        {"Name": "RecordsSkipped", "Unit": "Count"},
        {"Name": "RecordsQuarantined", "Unit": "Count"},
        {"Name": "RecordsHandedBack", "Unit": "Count"},
        {"Name": "AggregatedRecords", "Unit": "Count"},
        {"Name": "UserRecords", "Unit": "Count"},
        {"Name": "BatchDuration", "Unit": "Milliseconds"},
    ]
    assert isinstance(document["_aws"]["Timestamp"], int)
    assert document["FunctionName"] == "fn"
    assert (document["RecordsProcessed"], document["RecordsQuarantined"], document["RecordsHandedBack"]) == (
        7,
        2,
        1,
    )
    assert document["BatchDuration"] == 12.5


def test_namespace_defaults_to_shardsafe(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHARDSAFE_METRICS_NAMESPACE", raising=False)
    EmfMetrics().record_batch(
        processed=0, skipped=0, quarantined=0, handed_back=0, duration_ms=0, function_name=None
    )
    [document] = factories.json_lines(capsys.readouterr().out)
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "shardsafe"


def test_emf_document_counts_kpl_aggregates_and_user_records_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    EmfMetrics().record_batch(
        processed=12,
        skipped=0,
        quarantined=1,
        handed_back=0,
        duration_ms=1.0,
        function_name="fn",
        aggregated_records=2,
        user_records=10,
    )
    [document] = factories.json_lines(capsys.readouterr().out)
    assert (document["AggregatedRecords"], document["UserRecords"]) == (2, 10)
