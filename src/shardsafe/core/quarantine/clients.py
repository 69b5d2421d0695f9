"""Creating a sink's boto3 client within the invocation's time.

Importing boto3 and botocore and building a client takes 0.4 s on a warm laptop and seconds on a small
function (a 128 MB function gets a fraction of a vCPU), and nothing can interrupt an import. So a
client is made on a thread of its own (:class:`ClientMaker`), and the flush waits for it only until
the moment a call must start to end in time: a client that is not ready by then sends nothing this
time (the flush keeps the envelopes in S3 or the log), and is ready for the next batch.
"""

from __future__ import annotations

import threading
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class ClientMaker:
    """Makes one client with ``make`` on a daemon thread, and hands it out when it is ready in time.

    ``what`` names the client in the reasons it gives (``"the SQS client"``). A failed attempt is
    forgotten, so the next :meth:`get` tries again.
    """

    def __init__(self, make: Callable[[], Any], what: str) -> None:
        self._make = make
        self._what = what
        self._lock = threading.Lock()
        self._ready: threading.Event | None = None
        self._client: Any = None
        self._error: BaseException | None = None

    def get(self, ready_by: float | None) -> tuple[Any, str]:
        """``(client, "")`` once it is made, waiting at most until ``ready_by`` (``time.monotonic()``; None: as
        long as it takes); else ``(None, why)``."""
        with self._lock:
            ready = self._ready
            if ready is None:
                ready = self._ready = threading.Event()
                threading.Thread(
                    target=self._run, args=(ready,), name=f"shardsafe: {self._what}", daemon=True
                ).start()
        timeout = None if ready_by is None else ready_by - time.monotonic()
        if not ready.is_set() and timeout is not None and timeout <= 0:
            return None, f"no time left to create {self._what} (it is being created for the next batch)"
        if not ready.wait(timeout):
            return None, f"{self._what} was not ready in time (it is being created for the next batch)"
        with self._lock:
            if self._error is not None:
                error, self._error, self._ready = self._error, None, None  # the next get() tries again
                return None, f"cannot create {self._what}: {error!r}"
            return self._client, ""

    def _run(self, ready: threading.Event) -> None:
        try:
            client = self._make()
        except BaseException as error:  # an import that fails, a broken configuration: said by get()
            with self._lock:
                self._error = error
        else:
            with self._lock:
                self._client = client
        ready.set()
