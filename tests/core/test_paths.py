"""Run directories and ledgers that cannot be written are refused up front with the path and the fix."""

from __future__ import annotations

import os

import pytest

from gendesign.core.campaign import Campaign
from gendesign.core.errors import ConfigError
from gendesign.core.ledger import Ledger
from gendesign.core.objective import FunctionObjective
from gendesign.core.paths import check_ledger_path, check_run_dir
from gendesign.core.sequence_space import SequenceSpace
from gendesign.search.random import RandomSearch

SPACE = SequenceSpace("01", length=4)


def _campaign(**kw):
    obj = FunctionObjective(lambda xs: [x.count("1") for x in xs], names="ones")
    return Campaign(obj, SPACE, RandomSearch(SPACE, obj.specs), budget=4, progress=False, **kw)


def test_run_dir_that_is_a_file_or_lies_under_one_is_a_config_error(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with pytest.raises(ConfigError, match=r"run_dir '.*notes.txt' is an existing file, not a directory; choose a directory path"):
        _campaign(run_dir=afile)
    with pytest.raises(ConfigError, match=r"run_dir '.*notes.txt/run' cannot be created: '.*notes.txt' is a file"):
        _campaign(run_dir=afile / "run")
    assert afile.read_text() == "x"


def test_ledger_that_is_a_directory_or_lies_under_a_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"ledger '.*' is a directory; give a file path such as '.*ledger.sqlite'"):
        Ledger(tmp_path)
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigError, match=r"ledger '.*f/sub/l.sqlite' cannot be created: '.*f' is a file"):
        _campaign(ledger=tmp_path / "f" / "sub" / "l.sqlite")
    assert check_ledger_path(tmp_path / "new" / "deeper" / "l.sqlite") == tmp_path / "new" / "deeper" / "l.sqlite"
    assert not (tmp_path / "new").exists(), "checks create nothing"


def test_unwritable_locations_are_config_errors(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    # Permissions are emulated: root (as in many CI containers) writes through chmod 0500.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).startswith(str(locked)) else real_access(p, mode))
    with pytest.raises(ConfigError, match=r"run_dir '.*locked' is not writable; fix its permissions"):
        _campaign(run_dir=locked)
    with pytest.raises(ConfigError, match=r"run_dir '.*locked/run' cannot be created: '.*locked' is not writable; choose a writable location"):
        check_run_dir(locked / "run")
    with pytest.raises(ConfigError, match="ledger '.*locked/ledger.sqlite' cannot be created: .* is not writable"):
        Ledger(locked / "ledger.sqlite")
    assert list(locked.iterdir()) == []


def test_validate_reports_a_run_dir_that_is_a_file(tmp_path):
    from gendesign.api import validate_config

    afile = tmp_path / "taken"
    afile.write_text("")
    config = tmp_path / "c.toml"
    config.write_text(f'[campaign]\nrun_dir = "{afile}"\n\n[objective]\nname = "ehrlich"\n')
    with pytest.raises(ConfigError, match=r"\[campaign\] run_dir '.*taken' is an existing file"):
        validate_config(config)
    config.write_text(f'[campaign]\nledger = "{tmp_path}"\n\n[objective]\nname = "ehrlich"\n')
    with pytest.raises(ConfigError, match=r"\[campaign\] ledger '.*' is a directory"):
        validate_config(config)
