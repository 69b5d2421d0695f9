"""Account for every record put on a stream: processed, quarantined, or in an on-failure batch.

Used by the demo and the end-to-end tests. The sources of truth are what the deployed pipeline
left behind: JSON Lines objects in the output bucket (processed records, one object per batch and
shard), shardsafe's quarantine envelopes in the quarantine queue, and Lambda's on-failure records —
in the queue (coordinates only) or, with an S3 destination, as objects in the failure bucket with the
batch's records. Claim-check objects (a quarantined record too big for a message) are read back and
checked against their envelope's sha256. Every message and object is read through the one model,
`shardsafe.ops.failures`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shardsafe.core.quarantine.envelope import Envelope
from shardsafe.ops.failures import FailedBatch, QuarantineMessage, classify

PROCESSED_PREFIX = "processed/"
#: The producer kinds the handler must process; every other kind must be quarantined.
GOOD_KINDS = frozenset({"good"})

Coordinates = tuple[str, int]  # (shard id, sequence number)
#: What names one record: its coordinates, and for a KPL user record its sub-sequence number too.
RecordKey = tuple[str, int] | tuple[str, int, int]


def record_key(shard_id: str, sequence_number: int, sub_sequence_number: int | None) -> RecordKey:
    if sub_sequence_number is None:
        return (shard_id, sequence_number)
    return (shard_id, sequence_number, sub_sequence_number)


def keyed_payloads(
    shard_id: str, sequence_number: int, data: bytes, sub_sequence_number: int | None = None
) -> list[tuple[RecordKey, bytes]]:
    """A stream record's key and bytes and, when it is a KPL aggregate, each user record's too: what a
    record read back (from the stream, an on-failure object, a redrive file) accounts for."""
    from shardsafe.core.sources.kpl import AggregateError, deaggregate, is_aggregate

    found: list[tuple[RecordKey, bytes]] = [
        (record_key(shard_id, sequence_number, sub_sequence_number), data)
    ]
    if sub_sequence_number is None and is_aggregate(data):
        try:
            users = deaggregate(data)
        except AggregateError:
            return found
        found += [((shard_id, sequence_number, sub), user) for sub, (_, _, user) in enumerate(users)]
    return found


@dataclass(frozen=True)
class ManifestRecord:
    """A record the producer put, as its manifest line describes it."""

    kind: str
    shard_id: str
    sequence_number: int
    sha256: str
    partition_key: str
    #: A user record of a KPL aggregate (``sequence_number`` is the aggregate's): its place in it.
    sub_sequence_number: int | None = None

    @classmethod
    def from_manifest(cls, line: Mapping[str, Any]) -> ManifestRecord:
        sub = line.get("subSequenceNumber")
        return cls(
            kind=str(line["kind"]),
            shard_id=str(line["shardId"]),
            sequence_number=int(line["sequenceNumber"]),
            sha256=str(line["sha256"]),
            partition_key=str(line["partitionKey"]),
            sub_sequence_number=None if sub is None else int(sub),
        )

    @property
    def coordinates(self) -> Coordinates:
        """The Kinesis record's (shard, sequence number): a user record's aggregate's."""
        return (self.shard_id, self.sequence_number)

    @property
    def key(self) -> RecordKey:
        """The coordinates, with the sub-sequence number of a KPL user record."""
        return record_key(self.shard_id, self.sequence_number, self.sub_sequence_number)

    @property
    def aggregated(self) -> bool:
        return self.sub_sequence_number is not None


def manifest_records(produced: Iterable[Any]) -> list[ManifestRecord]:
    """ManifestRecords from the producer's result records (those that were put)."""
    return [
        ManifestRecord.from_manifest(json.loads(record.manifest_line())) for record in produced if record.ok
    ]


@dataclass
class Observed:
    """What the pipeline produced so far; grows as Collector.poll() reads more."""

    processed: dict[RecordKey, list[dict[str, Any]]] = field(default_factory=dict)
    processed_batches: list[tuple[str, list[int]]] = field(default_factory=list)
    quarantined: dict[RecordKey, list[Envelope]] = field(default_factory=dict)
    failure_batches: list[FailedBatch] = field(default_factory=list)
    other_messages: list[str] = field(default_factory=list)
    claim_checked: dict[str, bytes] = field(default_factory=dict)  # "bucket/key" -> the object's bytes


class Collector:
    """Reads the output bucket, the quarantine queue and the failure bucket (when there is one).

    Queue messages are read once (and left invisible) and kept here; objects are read once by key.
    """

    def __init__(
        self, s3: Any, sqs: Any, bucket: str, queue_url: str, failure_bucket: str | None = None
    ) -> None:
        self.s3, self.sqs, self.bucket, self.queue_url = s3, sqs, bucket, queue_url
        self.failure_bucket = failure_bucket
        self.observed = Observed()
        self._seen_objects: set[str] = set()
        self._seen_messages: set[str] = set()
        self._receipts: list[str] = []

    def release(self) -> None:
        """Make every queue message read so far visible again, for whoever reads the queue next
        (the demo's redrive): reading hides them for 15 minutes."""
        receipts, self._receipts = self._receipts, []
        for start in range(0, len(receipts), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for n, handle in enumerate(receipts[start : start + 10])
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)

    def poll(self) -> Observed:
        self._read_bucket()
        self._read_queue()
        if self.failure_bucket:
            self._read_failure_bucket(self.failure_bucket)
        self._read_claim_checks()
        return self.observed

    def _read_failure_bucket(self, bucket: str) -> None:
        """Lambda's on-failure objects, and envelopes the handler kept in S3 when the queue failed it."""
        from shardsafe.ops.redrive.bucket import is_claim_check_payload

        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                key = item["Key"]
                if f"{bucket}/{key}" in self._seen_objects or is_claim_check_payload(key):
                    continue  # payload objects are read through their envelopes
                self._seen_objects.add(f"{bucket}/{key}")
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                self._classify(f"s3://{bucket}/{key}", body.decode("utf-8", "replace"))

    def _read_claim_checks(self) -> None:
        for envelopes in self.observed.quarantined.values():
            for envelope in envelopes:
                where = envelope.claim_check
                if where is None or f"{where.bucket}/{where.key}" in self.observed.claim_checked:
                    continue
                body = self.s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read()
                self.observed.claim_checked[f"{where.bucket}/{where.key}"] = body

    def _read_bucket(self) -> None:
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=PROCESSED_PREFIX):
            for item in page.get("Contents", []):
                key = f"{item['Key']}@{item.get('ETag', '')}"
                if key in self._seen_objects:
                    continue
                self._seen_objects.add(key)
                body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                shard_id = item["Key"].removeprefix(PROCESSED_PREFIX).split("/", 1)[0]
                sequence_numbers = []
                for line in body.splitlines():
                    if not line.strip():
                        continue
                    document = json.loads(line)
                    sequence_number = int(document["sequenceNumber"])
                    sequence_numbers.append(sequence_number)
                    where = record_key(shard_id, sequence_number, document.get("subSequenceNumber"))
                    self.observed.processed.setdefault(where, []).append(document)
                self.observed.processed_batches.append((shard_id, sequence_numbers))

    def _read_queue(self) -> None:
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=900,  # read each message once; the stack is destroyed afterwards
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = response.get("Messages", [])
            if not messages:
                return
            for message in messages:
                self._receipts.append(message["ReceiptHandle"])
                if message["MessageId"] in self._seen_messages:
                    continue
                self._seen_messages.add(message["MessageId"])
                self._classify(message["MessageId"], message["Body"])

    def _classify(self, message_id: str, body: str) -> None:
        message = classify(body, message_id)
        if isinstance(message, QuarantineMessage) and message.coordinates is not None:
            key = record_key(*message.coordinates, message.sub_sequence_number)
            self.observed.quarantined.setdefault(key, []).append(message.envelope)
        elif isinstance(message, FailedBatch) and message.source == "kinesis":
            self.observed.failure_batches.append(message)
        else:
            self.observed.other_messages.append(body)


@dataclass
class KindTally:
    """Where the records of one producer kind ended up (``places``: processed, quarantined, on-failure,
    unaccounted), and the reasons the quarantined ones were given."""

    produced: int = 0
    places: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class Reconciliation:
    """Every produced record matched against what was observed."""

    produced: list[ManifestRecord]
    observed: Observed
    processed: list[ManifestRecord] = field(default_factory=list)
    quarantined: list[ManifestRecord] = field(default_factory=list)
    in_failure_batches: list[ManifestRecord] = field(default_factory=list)
    unaccounted: list[ManifestRecord] = field(default_factory=list)
    quarantine_reasons: Counter[str] = field(default_factory=Counter)
    payload_mismatches: list[ManifestRecord] = field(default_factory=list)
    poison_processed: list[ManifestRecord] = field(default_factory=list)
    good_quarantined: list[ManifestRecord] = field(default_factory=list)
    failure_batches: list[FailedBatch] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unaccounted

    @property
    def sound(self) -> bool:
        """Complete, and every record went where its kind says it should, with its bytes intact."""
        return self.complete and not (
            self.payload_mismatches or self.poison_processed or self.good_quarantined
        )

    def by_kind(self, *, aggregated: bool | None = None) -> dict[str, KindTally]:
        """A tally per producer kind (the manifest's ``kind``), kinds in the order first produced;
        ``aggregated`` True counts only KPL user records, False only records put on their own."""
        tallies: dict[str, KindTally] = {}

        def counted(record: ManifestRecord) -> bool:
            return aggregated is None or record.aggregated == aggregated

        for record in self.produced:
            if counted(record):
                tallies.setdefault(record.kind, KindTally()).produced += 1
        placed = {
            "processed": self.processed,
            "quarantined": self.quarantined,
            "on-failure": self.in_failure_batches,
            "unaccounted": self.unaccounted,
        }
        for place, records in placed.items():
            for record in records:
                if counted(record):
                    tallies[record.kind].places[place] += 1
        for record in self.quarantined:
            if counted(record):
                tallies[record.kind].reasons[self.observed.quarantined[record.key][0].reason] += 1
        return tallies


def reconcile(
    produced: Iterable[ManifestRecord], observed: Observed, good_kinds: frozenset[str]
) -> Reconciliation:
    """Place each produced record; a record in an on-failure batch is accounted for (redrive recovers it)."""
    distinct = {b.position: b for b in observed.failure_batches}
    result = Reconciliation(
        produced=list(produced),
        observed=observed,
        failure_batches=sorted(distinct.values(), key=lambda b: b.position),
    )
    carried = {
        key: data
        for batch in result.failure_batches
        for record in batch.records or ()
        for key, data in keyed_payloads(batch.shard_id, int(record.sequence_number), record.data)
    }
    for record in result.produced:
        key, coordinates = record.key, record.coordinates
        envelopes = observed.quarantined.get(key)
        if key in observed.processed:
            result.processed.append(record)
            if record.kind not in good_kinds:
                result.poison_processed.append(record)
        elif envelopes:
            result.quarantined.append(record)
            result.quarantine_reasons[envelopes[0].reason] += 1
            if record.kind in good_kinds:
                result.good_quarantined.append(record)
            if any(
                envelope.payload_sha256 != record.sha256 or not _payload_intact(envelope, observed)
                for envelope in envelopes
            ):
                result.payload_mismatches.append(record)
        elif covering := [batch for batch in observed.failure_batches if batch.covers(coordinates)]:
            result.in_failure_batches.append(record)
            data = carried.get(key)
            if data is None:  # an S3 on-failure object that should hold it (in its aggregate) does not
                if any(batch.records is not None for batch in covering):
                    result.payload_mismatches.append(record)
            elif hashlib.sha256(data).hexdigest() != record.sha256:
                result.payload_mismatches.append(record)  # an S3 on-failure object with other bytes
        else:
            result.unaccounted.append(record)
    return result


def _payload_intact(envelope: Envelope, observed: Observed) -> bool:
    """An inline payload, or the claim-check object an envelope names, must hash to its sha256; a
    truncated envelope carries only the hash."""
    payload = envelope.payload_bytes()
    if envelope.claim_check is not None:
        payload = observed.claim_checked.get(f"{envelope.claim_check.bucket}/{envelope.claim_check.key}")
        if payload is None:
            return False
    return payload is None or hashlib.sha256(payload).hexdigest() == envelope.payload_sha256
