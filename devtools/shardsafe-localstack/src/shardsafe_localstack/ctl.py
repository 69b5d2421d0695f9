"""Start and stop an embedded LocalStack that runs on the host, not in Docker.

``shardsafe-localstack up`` starts ``python -m localstack.runtime.main`` in its own process
group with the process Lambda executor, waits for ``/_localstack/health`` with a deadline, and
writes a pid file; ``down`` stops exactly that process group (SIGTERM, then SIGKILL after a
deadline, because LocalStack on the host does not always exit on SIGTERM). If
``LOCALSTACK_ENDPOINT`` is set, that LocalStack is used and nothing is started or stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from shardsafe_localstack.switches import DYNAMODB_ENV, DYNAMODB_PROVIDER, SwitchError, parse_switch

DEFAULT_PORT = 4566
SERVICES = "kinesis,dynamodb,dynamodbstreams,lambda,sqs,sns,s3,iam,sts,logs,cloudwatch,kms"
START_DEADLINE_S = 120.0
STOP_DEADLINE_S = 15.0
HEALTHY_AGAIN_S = 20.0


class LocalStackError(RuntimeError):
    """LocalStack could not be started or stopped; the message says why and what to do."""


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def pid_file(self) -> Path:
        return self.root / "localstack.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "localstack.log"

    @property
    def filesystem(self) -> Path:
        return self.root / "filesystem"


def default_state_dir() -> Path:
    return Path(os.environ.get("SHARDSAFE_LOCALSTACK_DIR", Path.cwd() / ".localstack")).resolve()


def external_endpoint() -> str | None:
    """The user's own LocalStack (for example a Docker one with an auth token), if they named one."""
    value = os.environ.get("LOCALSTACK_ENDPOINT", "").strip()
    return value.rstrip("/") or None


def endpoint_for_port(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def health(endpoint: str, timeout: float = 2.0) -> dict[str, object] | None:
    """The parsed health document, or None if nothing healthy answers."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=timeout) as resp:
            document = json.load(resp)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return document if isinstance(document, dict) else None


def _read_pid(paths: Paths) -> int | None:
    try:
        return int(paths.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _log_tail(paths: Paths, lines: int = 40) -> str:
    try:
        text = paths.log_file.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:])


def _diagnose(log_tail: str, port: int) -> str:
    """The most likely cause of a failed start, from what the log says."""
    checks = [
        ("Address already in use", f"port {port} is taken: stop what listens there or set LOCALSTACK_PORT"),
        (
            "requires a different Python",
            "LocalStack 2026.3.0 needs Python >= 3.12: run `make clean` then `make PYTHON=/path/to/python3.12`",
        ),
        ("SyntaxError", "the Python running LocalStack is too old: it needs Python >= 3.12"),
        (
            "ModuleNotFoundError",
            "a dependency is missing: run `make clean && make venv` to rebuild from uv.lock",
        ),
        ("ImportError", "a dependency is broken: run `make clean && make venv` to rebuild from uv.lock"),
        (
            "AttributeError",
            "a dependency has an incompatible version: rebuild the environment from uv.lock (`make clean && make venv`)",
        ),
    ]
    for needle, cause in checks:
        if needle in log_tail:
            return cause
    return "see the log above"


def _environment(paths: Paths, port: int) -> dict[str, str]:
    # The whole environment goes through, so the embedded LocalStack's own switches (each on unless
    # set to 0) reach it: SHARDSAFE_LOCALSTACK_BISECT (bisect_on_error), SHARDSAFE_LOCALSTACK_PAYLOAD_LIMIT
    # (payload_limit), SHARDSAFE_LOCALSTACK_MEMORY_LIMIT (executor), SHARDSAFE_LOCALSTACK_DYNAMODB (dynamodb).
    env = dict(os.environ)
    env.update(
        {
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": os.environ.get("LOCALSTACK_SERVICES", SERVICES),
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            # The sandbox looks like a container; LocalStack must treat it as a host.
            "OVERRIDE_IN_DOCKER": "0",
            "FILESYSTEM_ROOT": str(paths.filesystem),
            # Unzipped function code lands in LocalStack's temp folder: keep it in the state folder.
            "TMPDIR": str(paths.filesystem / "tmp"),
            "LAMBDA_RUNTIME_EXECUTOR": "process",
            "DNS_ADDRESS": "0",
            # URLs LocalStack hands out (queue URLs among them) name 127.0.0.1, not
            # *.localhost.localstack.cloud, which needs a DNS lookup this machine may not have.
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            "SQS_ENDPOINT_STRATEGY": "off",
            "DISABLE_EVENTS": "1",
            "LOCALSTACK_TELEMETRY_DISABLED": "1",
            "EAGER_SERVICE_LOADING": "0",
            # LocalStack polls one shard per interval (1 s by default), which caps a mapping at one
            # batch a second; poll faster so end-to-end runs take seconds, not minutes.
            "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC": os.environ.get(
                "LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC", "0.1"
            ),
            "LAMBDA_EVENT_SOURCE_MAPPING_MAX_BACKOFF_ON_EMPTY_POLL_SEC": "1",
            # kinesis-mock otherwise writes its whole state (every record of every stream) to one JSON
            # file every 5 s, though nothing reads it back (LocalStack's own PERSISTENCE is off): a
            # quarter of a core, and growing, by the end of an end-to-end run.
            "KINESIS_PERSISTENCE": os.environ.get("KINESIS_PERSISTENCE", "0"),
        }
    )
    env.pop("LOCALSTACK_ENDPOINT", None)
    env.update(dynamodb_overrides(os.environ))
    return env


DYNAMODB_OVERRIDES = ("PROVIDER_OVERRIDE_DYNAMODB", "PROVIDER_OVERRIDE_DYNAMODBSTREAMS")


def dynamodb_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """The provider overrides that serve DynamoDB (and its streams) from moto, with no DynamoDB Local download.

    None when SHARDSAFE_LOCALSTACK_DYNAMODB is 0 (LocalStack's own providers), and none when the user
    chose a provider for either API: LocalStack ties the two (config.py makes both ``v2`` when one is).
    """
    try:
        wanted = parse_switch(environ.get(DYNAMODB_ENV, "1"), DYNAMODB_ENV)
    except SwitchError as error:
        raise LocalStackError(str(error)) from error
    if not wanted or any(environ.get(name) for name in DYNAMODB_OVERRIDES):
        return {}
    return dict.fromkeys(DYNAMODB_OVERRIDES, DYNAMODB_PROVIDER)


def up(paths: Paths, port: int = DEFAULT_PORT, deadline_s: float = START_DEADLINE_S) -> str:
    """Start LocalStack unless it already runs; return its endpoint."""
    if endpoint := external_endpoint():
        if health(endpoint) is None:
            raise LocalStackError(
                f"LOCALSTACK_ENDPOINT={endpoint} does not answer /_localstack/health: "
                "start that LocalStack, or unset LOCALSTACK_ENDPOINT to use the embedded one"
            )
        return endpoint
    endpoint = endpoint_for_port(port)
    if running(paths):
        # Ours is up; on a loaded machine its health check can take a while to answer.
        if _wait_healthy(endpoint, HEALTHY_AGAIN_S):
            return endpoint
        down(paths)
    if _port_taken(port):
        raise LocalStackError(
            f"port {port} on 127.0.0.1 is taken by a process this command did not start: "
            "stop it, or set LOCALSTACK_ENDPOINT to use it"
        )

    paths.root.mkdir(parents=True, exist_ok=True)
    (paths.filesystem / "tmp").mkdir(parents=True, exist_ok=True)
    with paths.log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localstack.runtime.main"],
            env=_environment(paths, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=paths.root,
        )
    paths.pid_file.write_text(f"{process.pid}\n")

    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        if process.poll() is not None:
            break
        document = health(endpoint)
        if document is not None and _services_ready(document):
            return endpoint
        time.sleep(0.25)
    code = process.poll()
    down(paths)
    tail = _log_tail(paths)
    state = f"exited with code {code}" if code is not None else f"not healthy after {deadline_s:.0f} s"
    raise LocalStackError(
        f"LocalStack {state}. Last lines of {paths.log_file}:\n{tail}\nLikely cause: {_diagnose(tail, port)}"
    )


def running(paths: Paths) -> bool:
    """Whether the LocalStack this state folder started is still running."""
    pid = _read_pid(paths)
    return pid is not None and _alive(pid)


def _wait_healthy(endpoint: str, deadline_s: float) -> bool:
    give_up = time.monotonic() + deadline_s
    while time.monotonic() < give_up:
        if health(endpoint) is not None:
            return True
        time.sleep(0.5)
    return False


def _services_ready(document: dict[str, object]) -> bool:
    services = document.get("services")
    if not isinstance(services, dict):
        return False
    wanted = [s for s in os.environ.get("LOCALSTACK_SERVICES", SERVICES).split(",") if s]
    return all(services.get(s) in ("available", "running") for s in wanted)


def down(paths: Paths, deadline_s: float = STOP_DEADLINE_S) -> bool:
    """Stop the process group this module started; True if something was stopped."""
    if external_endpoint():
        return False
    pid = _read_pid(paths)
    if pid is None:
        return False
    stopped = False
    if _alive(pid):
        stopped = True
        _signal_group(pid, signal.SIGTERM)
        give_up = time.monotonic() + deadline_s
        while time.monotonic() < give_up and _alive(pid):
            time.sleep(0.2)
    # Children (the Kinesis engine, Lambda runtimes) share the group; make sure none outlive us.
    _signal_group(pid, signal.SIGKILL)
    give_up = time.monotonic() + 5
    while time.monotonic() < give_up and (_alive(pid) or _group_alive(pid)):
        time.sleep(0.1)
    paths.pid_file.unlink(missing_ok=True)
    return stopped


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


@dataclass(frozen=True)
class Session:
    endpoint: str
    started_here: bool  # the embedded LocalStack was started for this session, and is stopped after it
    state_dir: Path | None = None  # the embedded LocalStack's state folder (None for LOCALSTACK_ENDPOINT's)

    def end(self, *, keep: bool = False) -> None:
        """Stop the embedded LocalStack if this session started it, unless ``keep``."""
        if self.started_here and not keep and self.state_dir is not None:
            down(Paths(self.state_dir))


def default_port() -> int:
    """LOCALSTACK_PORT, else 4566."""
    return int(os.environ.get("LOCALSTACK_PORT") or DEFAULT_PORT)


def start(paths: Paths | None = None, port: int | None = None) -> Session:
    """LOCALSTACK_ENDPOINT's LocalStack, or the embedded one, started unless it runs already.

    For a session that outlives one process (the xdist workers of one test run share one LocalStack):
    the Session says whether it was started here, and :meth:`Session.end` stops it only then.
    """
    paths = paths or Paths(default_state_dir())
    started_here = external_endpoint() is None and not running(paths)
    endpoint = up(paths, default_port() if port is None else port)  # a start that fails stops what it started
    return Session(endpoint, started_here, None if external_endpoint() else paths.root)


@contextlib.contextmanager
def session(paths: Paths | None = None, port: int | None = None, *, keep: bool = False) -> Iterator[Session]:
    """LocalStack for the length of a ``with``: LOCALSTACK_ENDPOINT's, or the embedded one.

    The embedded one is started if it is not running, and then stopped afterwards unless ``keep``;
    one that was already running is left running. ``port`` defaults to LOCALSTACK_PORT, then 4566.
    """
    started = start(paths, port)
    try:
        yield started
    finally:
        started.end(keep=keep)


def run(paths: Paths, port: int, command: list[str]) -> int:
    """Run COMMAND with LocalStack up; stop it afterwards only if this call started it."""
    if not command:
        raise LocalStackError("run needs a command: shardsafe-localstack run -- pytest -m e2e")
    with session(paths, port) as localstack:
        env = dict(os.environ, LOCALSTACK_ENDPOINT=localstack.endpoint, SHARDSAFE_LOCALSTACK_MANAGED="1")
        return subprocess.call(command, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shardsafe-localstack", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "run"])
    parser.add_argument("--dir", type=Path, default=None, help="state and log folder (default ./.localstack)")
    parser.add_argument("--port", type=int, default=default_port())
    parser.epilog = "run: shardsafe-localstack run [--port N] -- COMMAND [ARG ...]"
    argv = sys.argv[1:] if argv is None else argv
    # Everything after "--" is the command for `run`, options and all.
    own, command = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser.parse_args(own)
    paths = Paths((args.dir or default_state_dir()).resolve())
    try:
        if args.command == "up":
            started = time.monotonic()
            endpoint = up(paths, args.port)
            print(f"LocalStack ready at {endpoint} ({time.monotonic() - started:.1f} s)")
        elif args.command == "down":
            print("LocalStack stopped" if down(paths) else "LocalStack was not running (nothing to stop)")
        elif args.command == "run":
            return run(paths, args.port, command)
        else:
            endpoint = external_endpoint() or endpoint_for_port(args.port)
            document = health(endpoint)
            print(
                json.dumps({"endpoint": endpoint, "healthy": document is not None, "pid": _read_pid(paths)})
            )
            return 0 if document is not None else 1
    except LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
