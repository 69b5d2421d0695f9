"""scripts/cold_imports.py: the Lambda side's import contract finds a heavy import, and there is none today."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from shardsafe_harness import paths


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cold_imports", paths.REPO / "scripts" / "cold_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_module_that_loads_a_listed_module_at_import_time_is_named() -> None:
    cold = load()
    # the envelope needs hashlib (only a poison record loads it): the probe sees it
    assert cold.heavy_loaded("shardsafe.core.quarantine.envelope", ("hashlib", "boto3")) == ["hashlib"]
    assert cold.heavy_loaded("shardsafe.ops.aws", ("shardsafe.ops",)) == [
        "shardsafe.ops",
        "shardsafe.ops.aws",
    ]


def test_the_lambda_side_and_a_handlers_imports_pass_today() -> None:
    cold = load()
    assert "shardsafe.core.quarantine.sqs" in cold.modules("shardsafe.core")
    assert cold.main([]) == 0
