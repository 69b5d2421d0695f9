"""The embedded LocalStack's additions are LocalStack runtime hooks (hooks.py), run the way LocalStack
runs them: found by name in the ``localstack.hooks.on_infra_start`` namespace, loaded by LocalStack's
hook manager, then called. Each puts its patches in place, and each switch keeps them out.

In-process, with no LocalStack running; every test leaves the patches as it found them.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pytest
from localstack import config
from localstack.runtime.hooks import HOOKS_ON_INFRA_START, HookManager
from shardsafe_localstack import (
    bisect_on_error,
    dynamodb,
    hooks,
    payload_limit,
    speedups,
    sqs_body,
    sqs_scaling,
    trace,
    tumbling_window,
)
from shardsafe_localstack.switches import DYNAMODB_ENV

#: Each hook, the module whose patches it applies, and the switch that keeps them out (None: the
#: patch is always in place and reads its switch on every batch; tests/localstack/test_bisect.py
#: shows those switches turning the behaviour off).
HOOKED: list[tuple[str, ModuleType, dict[str, str] | None]] = [
    ("shardsafe_bisect_on_error", bisect_on_error, None),
    ("shardsafe_payload_limit", payload_limit, None),
    (
        "shardsafe_speedups",
        speedups,
        {speedups.BATCH_LOGS_ENV: "0", speedups.BATCH_METRICS_ENV: "0", speedups.POLL_AGAIN_ENV: "0"},
    ),
    ("shardsafe_sqs_scaling", sqs_scaling, {sqs_scaling.SQS_SCALING_ENV: "0"}),
    ("shardsafe_sqs_body", sqs_body, {sqs_body.SQS_BODY_ENV: "0"}),
    ("shardsafe_trace", trace, {trace.TRACE_ENV: ""}),
    ("shardsafe_dynamodb", dynamodb, {DYNAMODB_ENV: "0"}),
    ("shardsafe_tumbling_window", tumbling_window, {tumbling_window.TUMBLING_WINDOW_ENV: "0"}),
]
MODULES = [module for _, module, _ in HOOKED]


@pytest.fixture(autouse=True)
def patches_as_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """Every patch out for the test (switches on, a trace file named), and back as it was after."""
    before = [bool(module._applied) for module in MODULES]
    for module in MODULES:
        module.undo()
    for _, _, switch in HOOKED:
        for name in switch or {}:
            monkeypatch.setenv(name, "1")
    monkeypatch.setenv(trace.TRACE_ENV, str(tmp_path / "trace.jsonl"))
    monkeypatch.setattr(config, "LAMBDA_RUNTIME_EXECUTOR", "process")
    yield
    for module in MODULES:
        module.undo()
    monkeypatch.undo()
    for module, applied in zip(MODULES, before, strict=True):
        if applied:
            module.apply()


def run_hook(name: str) -> None:
    """Load the hook ``name`` with LocalStack's own hook manager, and call it as LocalStack would."""
    manager = HookManager(HOOKS_ON_INFRA_START)  # a fresh one: a manager remembers what it loaded
    manager.load(name)()


def in_place(module: ModuleType) -> bool:
    """Whether the module's patches are applied: each one's function is the one LocalStack now calls."""
    applied = list(module._applied)
    return bool(applied) and all(
        patch.is_applied and inspect.getattr_static(patch.obj, patch.name) is patch.new for patch in applied
    )


def test_each_addition_is_registered_as_a_localstack_on_infra_start_hook() -> None:
    registered = {ep.name: ep.value for ep in entry_points(group=HOOKS_ON_INFRA_START)}
    ours = {name: value for name, value in registered.items() if name.startswith("shardsafe_")}
    assert ours == {name: f"shardsafe_localstack.hooks:{name}" for name, _, _ in HOOKED}
    assert [hook.__name__ for hook in hooks.HOOKS] == [name for name, _, _ in HOOKED]


def test_localstack_runs_the_hooks_bisect_before_the_payload_limit_and_after_its_own() -> None:
    loaded = HookManager(HOOKS_ON_INFRA_START).load_all_sorted()
    names = [plugin.name for plugin in loaded]
    ours = [name for name in names if name.startswith("shardsafe_")]
    assert ours == [name for name, _, _ in HOOKED], "in priority order: bisect first, the payload limit next"
    assert names.index("shardsafe_bisect_on_error") > max(
        names.index(name) for name in names if not name.startswith("shardsafe_")
    ), "after LocalStack's own start hooks"


@pytest.mark.parametrize(("hook", "module"), [(name, module) for name, module, _ in HOOKED])
def test_each_hook_puts_its_patches_in_place(hook: str, module: ModuleType) -> None:
    assert not in_place(module)
    run_hook(hook)
    assert in_place(module), f"{hook} left {module.__name__}'s patches out"


@pytest.mark.parametrize(
    ("hook", "module", "switch"), [(name, module, switch) for name, module, switch in HOOKED if switch]
)
def test_each_switch_keeps_its_patches_out(
    hook: str, module: ModuleType, switch: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in switch.items():
        monkeypatch.setenv(name, value)
    run_hook(hook)
    assert module._applied == [], f"{hook} applied patches with {switch}"


def test_a_localstack_without_the_process_executor_stays_stock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "LAMBDA_RUNTIME_EXECUTOR", "docker")
    loaded = [plugin.name for plugin in HookManager(HOOKS_ON_INFRA_START).load_all_sorted()]
    assert not [name for name in loaded if name.startswith("shardsafe_")]
    assert not any(in_place(module) for module in MODULES)


def test_a_bad_switch_stops_the_hook_naming_the_value_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sqs_body.SQS_BODY_ENV, "maybe")
    with pytest.raises(
        ValueError, match=r"SHARDSAFE_LOCALSTACK_SQS_BODY='maybe' is neither on nor off: set it to 1 or 0"
    ):
        run_hook("shardsafe_sqs_body")
