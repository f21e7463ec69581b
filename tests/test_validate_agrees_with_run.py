"""``gendesign validate``, ``gendesign run`` and the Python config path agree on every corpus config.

Whatever ``run`` refuses (at build time or at the end of the campaign), ``validate`` must refuse
first; whatever ``validate`` accepts, ``run`` must finish; ``build_parts(parse_config(table))``
from Python gives the same verdict. The corpus configs are small campaigns
(budget 16, at most 4 rounds, no plots), so each run takes a fraction of a second.
"""

from __future__ import annotations

import tomllib

import pytest
import torch
from click.testing import CliRunner

from fuzz_corpus import cases
from gendesign.api import build_parts
from gendesign.cli import cli
from gendesign.core.config import parse_config
from gendesign.core.errors import GendesignError

torch.set_num_threads(1)
CONFIGS = [c for c in cases() if c.kind == "config"]


def _verdict(args: list[str]) -> tuple[bool, str]:
    result = CliRunner().invoke(cli, args)
    message = str(result.exception) if result.exception is not None else result.output
    return result.exit_code == 0, message


@pytest.mark.parametrize("case", CONFIGS, ids=[c.id for c in CONFIGS])
def test_validate_and_run_agree(case, tmp_path):
    path = tmp_path / "case.toml"
    if isinstance(case.payload, bytes):
        path.write_bytes(case.payload)
    else:
        path.write_text(case.payload, encoding="utf-8")
    valid, why_not_valid = _verdict(["validate", str(path)])
    ran, why_not_ran = _verdict(["run", str(path), "--run-dir", str(tmp_path / "run"), "--no-progress"])
    assert valid == ran, f"validate {'accepted' if valid else 'refused: ' + why_not_valid}; run {'finished' if ran else 'failed: ' + why_not_ran}"
    assert valid == (case.expect == "ok"), why_not_valid
    if isinstance(case.payload, str) and len(case.payload) < 1 << 20:
        try:
            build_parts(parse_config(tomllib.loads(case.payload)))
            built = True
        except (GendesignError, tomllib.TOMLDecodeError):
            built = False
        assert built == valid
