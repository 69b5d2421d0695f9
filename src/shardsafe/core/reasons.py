"""Why a record was quarantined: the ``reason`` of a poison log line and of a quarantine envelope."""

from __future__ import annotations

BAD_BASE64 = "bad_base64"
"""A Kinesis ``data`` field that is not valid base64."""
INVALID_UTF8 = "invalid_utf8"
"""Text or JSON decoding met bytes that are not UTF-8."""
INVALID_JSON = "invalid_json"
"""Not parseable JSON (truncated, garbage, trailing data), or what RFC 8259 forbids (NaN, lone surrogates)."""
NOT_AN_OBJECT = "not_an_object"
"""Valid JSON, but not an object (an array, a string, a number...)."""
EMPTY = "empty"
"""A record with no data at all."""
BAD_COMPRESSION = "bad_compression"
"""A gzip payload that does not inflate (truncated, corrupt, trailing garbage)."""
TOO_LARGE = "too_large"
"""A payload that inflates, or decodes, past the record memory bound (a compression bomb included)."""
DECODE_ERROR = "decode_error"
"""A user-supplied decoder raised."""
VALIDATION_ERROR = "validation_error"
"""The validator (a callable or a field schema) rejected the data."""
POINTER_NOT_FOUND = "pointer_not_found"
"""A large-message pointer (SQS extended client) whose S3 object, or bucket, does not exist."""
POINTER_REFUSED = "pointer_refused"
"""A large-message pointer to a bucket the function may not read from (``SHARDSAFE_LARGE_MESSAGE_BUCKETS``)."""
POINTER_UNREADABLE = "pointer_unreadable"
"""A large-message pointer that cannot be followed: malformed, refused by S3 (access denied), or naming an
object of another size than its message says."""
MALFORMED_RECORD = "malformed_record"
"""A record that is not the shape Lambda sends (missing keys, wrong types)."""
HANDLER_ERROR = "handler_error"
"""The user's function raised an exception not marked retryable."""
RETRIES_EXHAUSTED = "retries_exhausted"
"""A retryable failure that in-process retries did not clear (without ReportBatchItemFailures)."""
KPL_BAD_CHECKSUM = "kpl_bad_checksum"
"""A Kinesis record with the KPL aggregate magic (F3 89 9A C2) whose MD5 does not match its protobuf:
corrupt, quarantined whole (:mod:`shardsafe.core.sources.kpl`)."""
KPL_UNREADABLE = "kpl_unreadable"
"""A Kinesis record with the KPL aggregate magic whose protobuf is not an ``AggregatedRecord`` (truncated,
a required field missing, an index outside its key table, no user record): quarantined whole."""
INTERNAL_ERROR = "internal_error"
"""A bug in shardsafe itself; the record is logged in full rather than lost."""

ALL = frozenset(
    {
        BAD_BASE64,
        INVALID_UTF8,
        INVALID_JSON,
        NOT_AN_OBJECT,
        EMPTY,
        BAD_COMPRESSION,
        TOO_LARGE,
        DECODE_ERROR,
        VALIDATION_ERROR,
        POINTER_NOT_FOUND,
        POINTER_REFUSED,
        POINTER_UNREADABLE,
        MALFORMED_RECORD,
        HANDLER_ERROR,
        RETRIES_EXHAUSTED,
        KPL_BAD_CHECKSUM,
        KPL_UNREADABLE,
        INTERNAL_ERROR,
    }
)
