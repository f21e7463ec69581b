"""Campaign configs: validation messages name the field, the value and the choices; parts build from registered names."""

from __future__ import annotations

import textwrap

import pytest
import torch

from gendesign.api import build_parts, dump_toml, run_config, validate_config
from gendesign.core.config import load_config, parse_config
from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective
from gendesign.core.plugins import PluginSystem
from gendesign.core.sequence_space import SequenceSpace
from gendesign.testing.fixtures import CountingObjective


def _ones(xs):
    return [x.count("1") for x in xs]


def _zeros(xs):
    return [x.count("0") for x in xs]


@pytest.fixture
def system():
    """Built-ins plus two counting objectives registered by a test plugin."""
    system = PluginSystem(entry_points=False)
    built: list[CountingObjective] = []

    def ones(space, device: str = "cpu"):
        """Counts ones."""
        obj = CountingObjective(_ones, space, names="ones")
        built.append(obj)
        return obj

    def zeros(space):
        """Counts zeros."""
        obj = CountingObjective(_zeros, space, names="zeros")
        built.append(obj)
        return obj

    def length():
        """Sequence length; needs no space."""
        return FunctionObjective(lambda xs: [len(x) for x in xs], names="length")

    system.objectives.register("ones", ones, plugin="test")
    system.objectives.register("length", length, plugin="test")
    system.objectives.register("zeros", zeros, plugin="test")
    system.built = built  # type: ignore[attr-defined]
    return system


def _write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """
[campaign]
budget = 20
batch_size = 8
seed = 3
progress = false

[space]
name = "sequence"
options = { alphabet = "01", length = 6 }

[[objectives]]
name = "ones"

[[objectives]]
name = "zeros"
directions = ["min"]

[strategy]
name = "random"
"""


def test_validate_builds_everything_without_evaluating(tmp_path, system):
    lines = validate_config(_write(tmp_path, GOOD), plugins=system)
    assert any(line.startswith("strategy: random") for line in lines)
    assert "ones (objective, max), zeros (objective, min)" in lines[1]
    assert system.built and all(o.total == 0 for o in system.built)


def test_stacked_objectives_with_direction_override(tmp_path, system):
    parts = build_parts(load_config(_write(tmp_path, GOOD)), plugins=system)
    assert [(s.name, s.direction) for s in parts.objective.specs] == [("ones", "max"), ("zeros", "min")]
    scores = parts.objective(["011000"])
    assert scores.values.tolist() == [[2.0, 4.0]]
    assert isinstance(parts.space, SequenceSpace) and parts.strategy.specs == parts.objective.specs


def test_resolved_config_round_trips_through_toml(tmp_path, system):
    config = load_config(_write(tmp_path, GOOD))
    result = run_config(config, run_dir=tmp_path / "run", plugins=system)
    resolved = load_config(tmp_path / "run" / "config.resolved.toml")
    assert resolved.campaign.run_dir == str(tmp_path / "run")
    resolved.campaign.run_dir = None
    assert resolved == config
    assert result.summary["evaluations"] == 20


def test_dump_toml_escapes_and_nests():
    data = {"campaign": {"budget": 3, "ratio": 0.25, "flag": True}, "space": {"name": 'we"ird\\', "options": {"alphabet": ["A", "dA"], "w": [0.5, 1.0]}}}
    import tomllib

    assert tomllib.loads(dump_toml(data)) == data
    with pytest.raises(ConfigError, match="TOML"):
        dump_toml({"a": {"b": object()}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[campaign]\nbudgett = 3\n[[objectives]]\nname = 'ones'\n", ["campaign.budgett = 3", "unknown field", "allowed fields: batch_size, budget"]),
        ("[campaign]\nbudget = 0\n[[objectives]]\nname = 'ones'\n", ["campaign.budget", "0", "greater than 0"]),
        ("[campaign]\ndevice = 'gpu'\n[[objectives]]\nname = 'ones'\n", ["campaign.device", "'gpu'", "'cpu'", "'cuda'", "'auto'"]),
        ("[campaign]\nbudget = 3\n", ["objectives", "Field required"]),
        ("[[objectives]]\nname = 'ones'\ndirections = ['up']\n", ["objectives.0.directions.0", "'up'", "'max'", "'min'"]),
    ],
)
def test_schema_errors_name_field_value_and_choices(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    for fragment in expected:
        assert fragment in str(err.value)


def test_unknown_parts_list_the_registered_names(tmp_path, system):
    bad = GOOD.replace('name = "random"', 'name = "randm"')
    with pytest.raises(ConfigError) as err:
        validate_config(_write(tmp_path, bad), plugins=system)
    msg = str(err.value)
    assert "[strategy]" in msg and "'randm'" in msg and "Did you mean 'random'" in msg and "evolution" in msg
    bad = GOOD.replace('name = "sequence"', 'name = "sequnce"')
    with pytest.raises(ConfigError, match=r"\[space\].*'sequnce'.*Available: .*box.*sequence"):
        validate_config(_write(tmp_path, bad), plugins=system)
    bad = GOOD.replace('name = "zeros"', 'name = "zeroes"')
    with pytest.raises(ConfigError, match=r"\[\[objectives\]\] #2.*'zeroes'.*ones.*zeros"):
        validate_config(_write(tmp_path, bad), plugins=system)


def test_bad_part_options_name_the_option_and_allowed_ones(tmp_path, system):
    bad = GOOD.replace('name = "random"', 'name = "random"\noptions = { max_trys = 3 }')
    with pytest.raises(ConfigError) as err:
        validate_config(_write(tmp_path, bad), plugins=system)
    assert "max_trys" in str(err.value) and "max_tries" in str(err.value) and "[strategy]" in str(err.value)
    bad = GOOD.replace('options = { alphabet = "01", length = 6 }', 'options = { alphabet = "01", length = "six" }')
    with pytest.raises(ConfigError, match=r"\[space\].*length.*'six'"):
        validate_config(_write(tmp_path, bad), plugins=system)


def test_directions_must_match_columns(tmp_path, system):
    bad = GOOD.replace('directions = ["min"]', 'directions = ["min", "max"]')
    with pytest.raises(ConfigError, match=r"directions = \['min', 'max'\] has 2 entries but 'zeros' has 1 columns"):
        validate_config(_write(tmp_path, bad), plugins=system)


def test_missing_space_uses_the_objective_default_or_says_what_to_add(tmp_path, system):
    no_space = "[[objectives]]\nname = 'ones'\n"
    with pytest.raises(ConfigError, match=r"'ones' needs a design space and the config has no \[space\] table.*Registered spaces: .*sequence"):
        validate_config(_write(tmp_path, no_space), plugins=system)
    no_space = "[[objectives]]\nname = 'length'\n"
    with pytest.raises(ConfigError, match=r"no \[space\] table.*'length' has no default space.*Registered spaces: .*sequence"):
        validate_config(_write(tmp_path, no_space), plugins=system)
    parts = build_parts(parse_config({"objectives": [{"name": "branin_currin"}], "strategy": {"name": "random"}}), plugins=system)
    assert parts.space.dim == 2 and [s.direction for s in parts.objective.specs] == ["min", "min"]


def test_device_option_per_part_and_unavailable_cuda(tmp_path, system):
    cfg = parse_config({"campaign": {"device": "auto"}, "objectives": [{"name": "dtlz2", "options": {"device": "cpu", "dim": 4}}], "strategy": {"name": "random"}})
    parts = build_parts(cfg, plugins=system)
    assert parts.objective.device == torch.device("cpu") and parts.strategy.device.type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        cfg = parse_config({"campaign": {"device": "cuda"}, "objectives": [{"name": "dtlz2"}], "strategy": {"name": "random"}})
        with pytest.raises(ConfigError, match="CUDA is not available"):
            build_parts(cfg, plugins=system)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[campaign\nbudget = 1"))


def test_column_overrides_and_transforms_from_config(tmp_path, system):
    text = GOOD.replace(
        'directions = ["min"]',
        'columns = { zeros = { kind = "constraint", direction = "min", threshold = 3 } }',
    ).replace(
        '[[objectives]]\nname = "ones"\n',
        '[[objectives]]\nname = "ones"\ntransforms = { ones = { kind = "ramp", low = 0, high = 4 } }\n',
    )
    parts = build_parts(load_config(_write(tmp_path, text)), plugins=system)
    ones, ones_raw, zeros = parts.objective.specs
    assert (ones.direction, ones.bounds) == ("max", (0.0, 1.0))
    assert (ones_raw.name, ones_raw.kind) == ("ones_raw", "auxiliary")
    assert (zeros.kind, zeros.threshold) == ("constraint", 3.0)
    assert [s.name for s in parts.strategy.specs] == ["ones", "zeros"]
    scores = parts.objective(["011000", "111110"])
    assert scores.values[:, 0].tolist() == [0.5, 1.0]
    assert scores.values[:, 1].tolist() == [2.0, 5.0]
    assert scores.feasible().tolist() == [False, True]


def test_bad_transform_in_config_names_the_objective_and_the_kinds(tmp_path, system):
    text = GOOD.replace('[[objectives]]\nname = "ones"\n', '[[objectives]]\nname = "ones"\ntransforms = { ones = { kind = "sigmoidal" } }\n')
    with pytest.raises(ConfigError) as err:
        build_parts(load_config(_write(tmp_path, text)), plugins=system)
    assert "#1" in str(err.value) and "'sigmoidal'" in str(err.value) and "double_sigmoid" in str(err.value)
