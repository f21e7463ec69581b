"""REINVENT-style [scoring]: aggregation against hand-computed values, filters, penalties, raw columns in the CSVs."""

from __future__ import annotations

import csv
import math
import textwrap

import pytest
import torch

from gendesign.api.parts import build_parts
from gendesign.api.runs import run_config
from gendesign.core.config import load_config
from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective
from gendesign.core.plugins import PluginSystem
from gendesign.objectives.scoring import Scoring

torch.set_num_threads(1)


def _counts(xs):
    return [[x.count("1"), x.count("0"), x.count("11")] for x in xs]


COUNTS = FunctionObjective(_counts, names=["ones", "zeros", "pairs"])
RAMP10 = {"kind": "ramp", "low": 0, "high": 10}


def test_geometric_and_arithmetic_mean_match_hand_computed_values():
    comps = [{"column": "ones", "transform": RAMP10, "weight": 1.0}, {"column": "zeros", "transform": RAMP10, "weight": 3.0}]
    design = "11" + "0" * 5  # ones = 2 -> d = 0.2, zeros = 5 -> d = 0.5
    geo = Scoring(COUNTS, comps, "geometric_mean")([design]).values[0, 0].item()
    assert geo == pytest.approx(0.2**0.25 * 0.5**0.75, rel=1e-9)
    ari = Scoring(COUNTS, comps, "arithmetic_mean")([design]).values[0, 0].item()
    assert ari == pytest.approx(0.25 * 0.2 + 0.75 * 0.5, rel=1e-9)
    # A zero desirability with positive weight zeroes the geometric mean but not the arithmetic one.
    assert Scoring(COUNTS, comps, "geometric_mean")(["00000"]).values[0, 0].item() == 0.0
    assert Scoring(COUNTS, comps, "arithmetic_mean")(["00000"]).values[0, 0].item() == pytest.approx(0.75 * 0.5)


def test_weighted_sum_of_raw_columns_respects_direction():
    obj = FunctionObjective(_counts, names=["ones", "zeros", "pairs"], directions=["max", "min", "max"])
    s = Scoring(obj, [{"column": "ones", "weight": 2.0}, {"column": "zeros", "weight": 1.0}], "weighted_sum")
    # canonical view: ones -> +ones, zeros -> -zeros; weights normalised to 2/3, 1/3.
    assert s(["1110"]).values[0, 0].item() == pytest.approx(2 / 3 * 3 - 1 / 3 * 1)
    # An affine transform keeps the column's direction: zscore of a minimised column still counts negatively.
    z = Scoring(obj, [{"column": "ones"}, {"column": "zeros", "transform": {"kind": "zscore", "mean": 1.0, "std": 2.0}}], "weighted_sum")
    assert z(["1100"]).values[0].tolist()[:5] == pytest.approx([0.5 * 2 - 0.5 * 0.5, 2.0, 2.0, 0.5, 2.0])


def test_filter_zeroes_and_penalty_multiplies():
    comps = [{"column": "ones", "transform": RAMP10}]
    filt = Scoring(COUNTS, comps, filters=[{"column": "pairs", "high": 0}])
    vals = filt(["1010", "1100"]).values[:, 0].tolist()
    assert vals == [pytest.approx(0.2), 0.0]
    pen = Scoring(COUNTS, comps, penalties=[{"column": "pairs", "transform": {"kind": "exponential_decay", "k": math.log(2)}}])
    # "1110" has 2 overlapping "11"? str.count counts non-overlapping: 1 -> penalty 0.5; "11011" has 2 -> 0.25.
    got = pen(["1110", "11011"]).values[:, 0].tolist()
    assert got == [pytest.approx(0.3 * 0.5), pytest.approx(0.4 * 0.25)]


def test_pareto_keeps_components_and_multiplies_each():
    comps = [{"column": "ones", "transform": RAMP10}, {"column": "zeros", "transform": RAMP10}]
    s = Scoring(COUNTS, comps, "pareto", filters=[{"column": "pairs", "high": 0}])
    assert [(sp.name, sp.kind) for sp in s.specs] == [
        ("ones", "objective"), ("ones_raw", "auxiliary"), ("zeros", "objective"), ("zeros_raw", "auxiliary"), ("pairs", "auxiliary")
    ]
    v = s(["1000", "1100"]).values
    assert v[0].tolist() == pytest.approx([0.1, 1.0, 0.3, 3.0, 0.0])
    assert v[1].tolist() == pytest.approx([0.0, 2.0, 0.0, 2.0, 1.0])


def test_errors_name_the_key_the_value_and_the_fix():
    with pytest.raises(ConfigError, match=r"components.0.wieght = 2: unknown field; allowed fields: column, transform, weight"):
        Scoring(COUNTS, [{"column": "ones", "wieght": 2}])
    with pytest.raises(ConfigError, match=r"#1: column = 'one' is not a column.*\['ones', 'zeros', 'pairs'\]"):
        Scoring(COUNTS, [{"column": "one", "transform": RAMP10}])
    with pytest.raises(ConfigError, match=r"\['ones'\] are not desirabilities.*give each a transform"):
        Scoring(COUNTS, [{"column": "ones"}], "geometric_mean")
    with pytest.raises(ConfigError, match=r"filters and penalties multiply.*geometric_mean"):
        Scoring(COUNTS, [{"column": "ones", "transform": RAMP10}], "chebyshev", filters=[{"column": "pairs", "high": 0}])
    with pytest.raises(ConfigError, match=r"penalties\]\] #1.*must end in a desirability"):
        Scoring(COUNTS, [{"column": "ones", "transform": RAMP10}], penalties=[{"column": "pairs", "transform": {"kind": "negate"}}])
    with pytest.raises(ConfigError, match=r"low = 3.0 is above high = 1.0; swap them"):
        Scoring(COUNTS, [{"column": "ones", "transform": RAMP10}], filters=[{"column": "pairs", "low": 3, "high": 1}])


@pytest.fixture
def system():
    system = PluginSystem(entry_points=False)
    system.objectives.register("counts", lambda: FunctionObjective(_counts, names=["ones", "zeros", "pairs"]), plugin="test")
    return system


CONFIG = """
[campaign]
budget = 12
batch_size = 6
seed = 1
progress = false
plots = false

[space]
name = "sequence"
options = {{ alphabet = "01", length = 6 }}

[[objectives]]
name = "counts"

[scoring]
aggregate = "{aggregate}"

[[scoring.components]]
column = "ones"
transform = {{ kind = "sigmoid", low = 1, high = 5 }}
weight = 2

[[scoring.components]]
column = "zeros"
transform = {{ kind = "reverse_sigmoid", low = 1, high = 5 }}

[[scoring.filters]]
column = "pairs"
high = 1

[strategy]
name = "random"
"""


@pytest.mark.parametrize("aggregate", ["geometric_mean", "pareto"])
def test_toml_scoring_keeps_raw_values_beside_transformed_ones_in_both_csvs(tmp_path, system, aggregate):
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent(CONFIG.format(aggregate=aggregate)))
    result = run_config(load_config(path), run_dir=tmp_path / "run", plugins=system)
    from gendesign.objectives.transforms import ReverseSigmoid, Sigmoid

    sig, rsig = Sigmoid(low=1, high=5), ReverseSigmoid(low=1, high=5)
    for name in ("evaluations.csv", "pareto.csv"):
        rows = list(csv.DictReader((tmp_path / "run" / name).open()))
        assert rows
        header = list(rows[0])
        assert header.index("ones_raw") == header.index("ones") + 1 and header.index("zeros_raw") == header.index("zeros") + 1
        for row in rows:
            design = row["design"]
            ones, zeros, pairs = _counts([design])[0]
            assert float(row["ones_raw"]) == ones and float(row["zeros_raw"]) == zeros and float(row["pairs"]) == pairs
            d1, d2 = float(sig(torch.tensor(float(ones)))), float(rsig(torch.tensor(float(zeros))))
            keep = float(pairs <= 1)
            if aggregate == "pareto":
                assert float(row["ones"]) == pytest.approx(d1 * keep, abs=1e-6)
                assert float(row["zeros"]) == pytest.approx(d2 * keep, abs=1e-6)
            else:
                assert float(row["ones"]) == pytest.approx(d1, abs=1e-6)
                assert float(row["score"]) == pytest.approx(keep * d1 ** (2 / 3) * d2 ** (1 / 3), abs=1e-6)
    assert result.summary["evaluations"] == 12


def test_toml_names_a_scalariser_and_weights(tmp_path, system):
    text = CONFIG.format(aggregate="chebyshev").split("[[scoring.filters]]")[0] + '[strategy]\nname = "random"\n'
    path = tmp_path / "c.toml"
    path.write_text(textwrap.dedent(text))
    parts = build_parts(load_config(path), plugins=system)
    assert parts.objective.specs[0].name == "score" and [s.name for s in parts.strategy.specs] == ["score"]
    text = text.replace('aggregate = "chebyshev"', 'aggregate = "chebyshev"\nrho = -1')
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError, match=r"scoring.rho = -1: Input should be greater than or equal to 0"):
        load_config(path)
