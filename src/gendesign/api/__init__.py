"""The Python API: :func:`optimize` for objects, and config-driven runs for the CLI.

- :mod:`gendesign.api.parts`: :func:`build_parts`, the parts a config names;
- :mod:`gendesign.api.runs`: :func:`run_config`, :func:`resume_run`, :func:`report_run`,
  :func:`validate_config` (``gendesign run``, ``resume``, ``report``, ``validate``), and the lab
  loop :func:`ask_run`, :func:`tell_run`, :func:`run_status` (``gendesign ask``, ``tell``, ``status``);
- :mod:`gendesign.api.facade`: :func:`optimize`;
- :func:`dump_toml` lives in :mod:`gendesign.core.toml_writer`.
"""

from gendesign.api.facade import OptimizationResult, optimize
from gendesign.api.parts import Parts, build_parts
from gendesign.api.runs import (
    RESOLVED_CONFIG,
    ask_run,
    default_run_dir,
    report_run,
    resume_run,
    run_config,
    run_status,
    tell_run,
    validate_config,
)
from gendesign.core.toml_writer import dump_toml

__all__ = [
    "RESOLVED_CONFIG",
    "OptimizationResult",
    "Parts",
    "ask_run",
    "build_parts",
    "default_run_dir",
    "dump_toml",
    "optimize",
    "report_run",
    "resume_run",
    "run_config",
    "run_status",
    "tell_run",
    "validate_config",
]
