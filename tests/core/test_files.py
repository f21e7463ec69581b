"""core.files: paths a loader opens stay inside the model directory, whatever symlinks or names say."""

from __future__ import annotations

import os

import pytest

from gendesign.core.errors import ConfigError
from gendesign.core.files import check_tree, file_in


@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "model"
    (d / "sub").mkdir(parents=True)
    (d / "config.json").write_text("{}")
    (d / "sub" / "weights.bin").write_bytes(b"w")
    (tmp_path / "secret").write_text("s")
    return d


def test_files_inside_resolve_to_themselves_also_through_inner_links_and_a_linked_root(model_dir, tmp_path):
    (model_dir / "alias.bin").symlink_to("sub/weights.bin")
    (model_dir / "subdir").symlink_to("sub")
    (tmp_path / "latest").symlink_to(model_dir)
    real = model_dir.resolve()
    assert file_in(model_dir, "config.json") == real / "config.json"
    assert file_in(model_dir, "alias.bin") == real / "sub" / "weights.bin"
    assert file_in(model_dir, "subdir/weights.bin") == real / "sub" / "weights.bin"
    assert file_in(tmp_path / "latest", "sub/../config.json") == real / "config.json"
    assert file_in(model_dir, "missing.json") == real / "missing.json"
    assert check_tree(tmp_path / "latest") == real


@pytest.mark.parametrize("name", ["../secret", "/etc/passwd", "sub/../../secret", "out", "outdir/secret"])
def test_names_and_links_that_lead_outside_are_refused(model_dir, tmp_path, name):
    (model_dir / "out").symlink_to(tmp_path / "secret")
    (model_dir / "outdir").symlink_to(tmp_path)
    with pytest.raises(ConfigError, match=rf"model file '{name}' resolves to .*, outside the model directory"):
        file_in(model_dir, name)


@pytest.mark.parametrize("where", ["top", "nested", "dangling"])
def test_check_tree_finds_an_outside_link_anywhere_below_the_root(model_dir, tmp_path, where):
    link = {"top": model_dir / "x", "nested": model_dir / "sub" / "x", "dangling": model_dir / "sub" / "x"}[where]
    link.symlink_to(tmp_path / ("secret" if where != "dangling" else "nowhere"))
    with pytest.raises(ConfigError, match=r"entry 'sub/x'|entry 'x'"):
        check_tree(model_dir, what="pipeline")


def test_fifos_and_link_loops_are_refused(model_dir):
    os.mkfifo(model_dir / "sub" / "pipe")
    with pytest.raises(ConfigError, match="not a regular file"):
        file_in(model_dir, "sub/pipe")
    with pytest.raises(ConfigError, match="not a regular file"):
        check_tree(model_dir)
    os.unlink(model_dir / "sub" / "pipe")
    (model_dir / "a").symlink_to("b")
    (model_dir / "b").symlink_to("a")
    with pytest.raises(ConfigError, match="'a'"):
        file_in(model_dir, "a")
