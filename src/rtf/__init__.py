"""rtf — the Runtime Testing Factory.

Test a pipeline's scripts on your machine before you deploy it. From Python::

    from rtf import InteractiveRuntimeTestingFactory

    factory = InteractiveRuntimeTestingFactory("dag.yaml", "config.json")
    results = factory.execute_dag_guided_testing()

The public names below are loaded on first use, so ``import rtf`` stays cheap.
"""

from __future__ import annotations

import importlib

from rtf._version import __version__

# ``typing`` costs ~10 ms to import; ``rtf --version`` should not pay for it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from rtf.api import ConfigurationError, InteractiveRuntimeTestingFactory
    from rtf.dag import Dag, load_dag
    from rtf.discovery import Discovery, discover
    from rtf.report import RunReport
    from rtf.runner import RunOptions, run_spec
    from rtf.spec import PipelineSpec, load_spec, save_spec
    from rtf.spec import ScriptSpec as ScriptExecutionSpec

__all__ = [
    "ConfigurationError",
    "Dag",
    "Discovery",
    "InteractiveRuntimeTestingFactory",
    "PipelineSpec",
    "RunOptions",
    "RunReport",
    "ScriptExecutionSpec",
    "__version__",
    "discover",
    "load_dag",
    "load_spec",
    "run_spec",
    "save_spec",
]

_LAZY: dict[str, tuple[str, str]] = {
    "ConfigurationError": ("rtf.api", "ConfigurationError"),
    "Dag": ("rtf.dag", "Dag"),
    "Discovery": ("rtf.discovery", "Discovery"),
    "InteractiveRuntimeTestingFactory": ("rtf.api", "InteractiveRuntimeTestingFactory"),
    "PipelineSpec": ("rtf.spec", "PipelineSpec"),
    "RunOptions": ("rtf.runner", "RunOptions"),
    "RunReport": ("rtf.report", "RunReport"),
    "ScriptExecutionSpec": ("rtf.spec", "ScriptSpec"),
    "discover": ("rtf.discovery", "discover"),
    "load_dag": ("rtf.dag", "load_dag"),
    "load_spec": ("rtf.spec", "load_spec"),
    "run_spec": ("rtf.runner", "run_spec"),
    "save_spec": ("rtf.spec", "save_spec"),
}


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'rtf' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
