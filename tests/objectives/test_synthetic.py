"""The ``synthetic`` objective: BoTorch's single-objective functions at their known minimisers."""

from __future__ import annotations

import pytest

from gendesign.core.errors import ConfigError
from gendesign.objectives.synthetic import SyntheticFunction


@pytest.mark.parametrize(("function", "dim", "x", "value"), [
    ("branin", None, (-3.14159265, 12.275), 0.397887),
    ("branin", None, (9.42478, 2.475), 0.397887),
    ("hartmann", 3, (0.114614, 0.555649, 0.852547), -3.86278),
    ("ackley", 3, (0.0, 0.0, 0.0), 0.0),
    ("levy", 2, (1.0, 1.0), 0.0),
])
def test_known_minima(function, dim, x, value):
    obj = SyntheticFunction(function, dim)
    scores = obj([x])
    assert scores.values.shape == (1, 1) and obj.specs[0].direction == "min"
    assert scores.values[0, 0].item() == pytest.approx(value, abs=1e-4)
    assert obj.default_space().dim == len(x)


def test_bad_dimensions_are_config_errors():
    with pytest.raises(ConfigError, match="branin has 2 inputs"):
        SyntheticFunction("branin", 3)
    with pytest.raises(ConfigError, match="hartmann"):
        SyntheticFunction("hartmann", 5)
