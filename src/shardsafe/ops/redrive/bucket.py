"""Redrive a failure bucket: Lambda's S3 on-failure objects, and quarantine envelopes kept in S3.

An S3 on-failure destination receives one object per batch Lambda gave up on
(``aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``) holding the
batch's whole event: its records come from the object, so a stream that trimmed them, or was
deleted, does not matter. The handler keeps an envelope the quarantine queue did not take under
``<claim-check prefix>envelopes/`` (`shardsafe.core.quarantine.claimcheck`). Both are read, classified, filtered,
recovered and settled exactly as queue messages are (`shardsafe.ops.redrive.settle`). A record's bytes
kept by a claim check (``<prefix>payloads/...``) are reached through its envelope, in the queue or
in this bucket: such objects are counted, never redriven alone.

Deleting is how a run says "redriven": an object is deleted only after all its records are
written (a crash in between redrives it again: at least once, as with the queue), and then the
claim-check object its envelope points at, if any. Deleting rather than tagging keeps the bucket
a list of what is still to be redriven: a later run does not read again what is done (S3 cannot
list by tag), and a versioned bucket keeps the deleted object as a noncurrent version until its
lifecycle expires it. Unlike a queue, a bucket hides nothing from a second reader: run one redrive
of a bucket at a time.

    from shardsafe.ops.redrive import FileTarget, redrive_bucket
    result = redrive_bucket(s3, kinesis, "ticks-failures", FileTarget(Path("failed.jsonl")))
    print(result.summary())
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shardsafe.ops.aws import error_code
from shardsafe.ops.failures import classify
from shardsafe.ops.redrive.decide import RedriveFilter
from shardsafe.ops.redrive.recovery import Recovery
from shardsafe.ops.redrive.settle import delete_claim_check, deleted, log_event, settle, take
from shardsafe.ops.redrive.summary import MessageOutcome, RedriveResult
from shardsafe.ops.redrive.targets import Target

__all__ = ["ON_FAILURE_PREFIX", "BucketObject", "is_claim_check_payload", "list_objects", "redrive_bucket"]

ON_FAILURE_PREFIX = "aws/lambda/"
"""Where Lambda writes its on-failure objects in the bucket (it takes no prefix)."""

NOT_DELETED = (
    "written, but the object could not be deleted: the next run redrives it again; delete it by hand"
)
#: Objects settled together: their records are written in one go.
CHUNK_OBJECTS = 10
#: ... unless they hold this much first (an on-failure object holds up to a 6 MB invocation).
CHUNK_BYTES = 64 * 1024 * 1024

# shardsafe.core.quarantine.claimcheck.object_key with PAYLOADS: <prefix>payloads/YYYY/MM/DD/<request>/<index>-<sha256>
_PAYLOAD_KEY = re.compile(r"(?:^|/)payloads/(?:\d{4}/\d{2}/\d{2}|undated)/[^/]+/\d+-[0-9a-f]{64}$")


@dataclass(frozen=True)
class BucketObject:
    bucket: str
    key: str
    size: int
    last_modified: datetime | None = None

    @property
    def url(self) -> str:
        """``s3://bucket/key``: the object's id in outcomes and in the records written."""
        return f"s3://{self.bucket}/{self.key}"


def is_claim_check_payload(key: str) -> bool:
    """Whether ``key`` is a claim-check object holding one record's bytes (not JSON: never classified)."""
    return _PAYLOAD_KEY.search(key) is not None


def list_objects(s3: Any, bucket: str, prefix: str = "") -> Iterator[BucketObject]:
    """Every object under ``prefix``, in key order (ListObjectsV2, page by page)."""
    token: dict[str, str] = {}
    while True:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, **token)
        for item in page.get("Contents", []):
            modified = item.get("LastModified")
            yield BucketObject(bucket, str(item["Key"]), int(item.get("Size", 0)), _utc(modified))
        if not page.get("IsTruncated"):
            return
        token = {"ContinuationToken": page["NextContinuationToken"]}


def redrive_bucket(
    s3: Any,
    kinesis: Any,
    bucket: str,
    target: Target,
    *,
    prefix: str = "",
    filters: RedriveFilter | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    accept_partial: bool = False,
    page_limit: int = 1000,
    on_outcome: Callable[[MessageOutcome], None] | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RedriveResult:
    """Recover the records of every matching object under ``prefix`` of ``bucket`` and write them to
    ``target``; delete each object once all its records are written.

    The same rules as `shardsafe.ops.redrive.redrive` for a queue: an object with records that cannot be
    recovered is kept, and nothing of it written, unless ``accept_partial``; ``limit`` caps the
    objects redriven; ``dry_run`` reads, writes and deletes nothing. Claim-check payload objects are
    counted in ``payload_objects`` and left alone. ``on_progress(done, total)`` is told how many of
    the objects listed have been read. The object's time, for ``since``/``until``, is when it
    failed, else its LastModified.
    """
    filters = filters or RedriveFilter()
    result = RedriveResult(
        dry_run=dry_run, target=target.description, source=f"bucket s3://{bucket}/{prefix}", unit="objects"
    )
    listed = list(list_objects(s3, bucket, prefix))
    objects = [o for o in listed if not is_claim_check_payload(o.key)]
    result.payload_objects = len(listed) - len(objects)
    retention_hours: dict[str, int | None] = {}
    taken: list[tuple[BucketObject, Recovery]] = []
    held = 0

    def delete(item: BucketObject, recovery: Recovery) -> bool:
        if not deleted(
            result, item.url, item.url, lambda: s3.delete_object(Bucket=item.bucket, Key=item.key)
        ):
            return False
        delete_claim_check(s3, recovery, result)
        return True

    def flush() -> None:
        nonlocal held
        settle(
            taken,
            target,
            result,
            delete=delete,
            keep=lambda _: None,
            not_deleted=NOT_DELETED,
            dry_run=dry_run,
            accept_partial=accept_partial,
            on_outcome=on_outcome,
        )
        taken.clear()
        held = 0

    matched = 0
    for done, item in enumerate(objects, start=1):
        if limit is not None and matched >= limit:
            break
        body = _read(s3, item, result)
        if body is not None:
            result.messages_read += 1
            parsed = classify(body, item.url)
            if not filters.matches(parsed, item.last_modified):
                result.messages_skipped += 1
            else:
                matched += 1
                recovery = take(
                    kinesis,
                    s3,
                    parsed,
                    item.url,
                    result,
                    now=now(),
                    retention_hours=retention_hours,
                    page_limit=page_limit,
                )
                taken.append((item, recovery))
                held += len(body)
                if len(taken) >= CHUNK_OBJECTS or held >= CHUNK_BYTES:
                    flush()
        if on_progress is not None:
            on_progress(done, len(objects))
    flush()
    return result


def _read(s3: Any, item: BucketObject, result: RedriveResult) -> bytes | None:
    """The object's bytes; None, with a warning, when it is gone since it was listed."""
    try:
        return bytes(s3.get_object(Bucket=item.bucket, Key=item.key)["Body"].read())
    except Exception as exc:
        if error_code(exc) not in {"NoSuchKey", "404", "NotFound"}:
            raise
        warning = f"{item.url} was gone when read (another run or the bucket's lifecycle removed it)"
        result.warnings.append(warning)
        log_event(logging.WARNING, "object_gone", messageId=item.url, message=warning)
        return None


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
