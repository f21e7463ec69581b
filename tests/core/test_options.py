"""Options are type-checked strictly, and parts are checked against each other at build time."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from gendesign.core.errors import ConfigError
from gendesign.core.registry import Registry, validate_options
from gendesign.core.sequence_space import SequenceSpace
from gendesign.objectives.compose import Respecified, Stacked
from gendesign.objectives.ehrlich import ALPHABET, Ehrlich
from gendesign.objectives.transforms import Transformed
from gendesign.testing.fixtures import CountingObjective


def factory(length: int, scale: float = 1.0, flag: bool = False, limit: int | None = None, weights: tuple[float, float] = (1.0, 2.0), names: Sequence[str] = ()):
    """String annotations (this module has ``from __future__ import annotations``)."""
    return length, scale, flag, limit, weights, names


def _check(**options):
    return validate_options(factory, options, where="test factory")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"length": 2.5}, "length"),
        ({"length": True}, "length"),
        ({"length": "8"}, "length"),
        ({"length": 8, "scale": "0.5"}, "scale"),
        ({"length": 8, "scale": False}, "scale"),
        ({"length": 8, "scale": float("inf")}, "scale"),
        ({"length": 8, "scale": float("nan")}, "scale"),
        ({"length": 8, "flag": 1}, "flag"),
        ({"length": 8, "flag": "yes"}, "flag"),
        ({"length": 8, "limit": True}, "limit"),
        ({"length": 8, "weights": ["1", "2"]}, "weights"),
        ({"length": 8, "weights": [True, 2.0]}, "weights"),
        ({"length": 8, "names": [1, 2]}, "names"),
    ],
)
def test_lossy_or_wrong_values_are_refused_naming_the_field(options, field):
    with pytest.raises(ConfigError, match=rf"{field} = ") as err:
        _check(**options)
    assert "\n" not in str(err.value)


def test_exact_values_pass_with_their_types():
    out = _check(length=1e3, scale=2, flag=True, limit=None, weights=[1, 2.5], names=["a"])
    assert out == {"length": 1000, "scale": 2.0, "flag": True, "limit": None, "weights": (1.0, 2.5), "names": ["a"]}
    assert type(out["length"]) is int and type(out["scale"]) is float


def test_registry_build_applies_the_resolved_annotations():
    registry: Registry = Registry("space")
    registry.register("sequence", SequenceSpace, plugin="test")
    with pytest.raises(ConfigError, match="length = 2.5"):
        registry.build("sequence", {"alphabet": "AB", "length": 2.5})
    assert registry.build("sequence", {"alphabet": "AB", "length": 2.0}).max_length == 2


def test_wrappers_keep_the_default_space():
    f = Ehrlich(num_states=4, length=8, num_motifs=2, motif_length=2)
    own = f.default_space().config()
    wrapped = Transformed(Respecified(f, {"ehrlich": {"direction": "min"}}), {"ehrlich": {"kind": "negate"}})
    assert wrapped.default_space().config() == own
    stacked = Stacked([CountingObjective(lambda xs: [0.0] * len(xs), SequenceSpace("AB", length=2), names="c"), f])
    assert stacked.default_space().config() == own


def test_a_space_the_objective_cannot_score_is_refused():
    f = Ehrlich(num_states=4, length=16, num_motifs=2, motif_length=2)
    f.check_space(SequenceSpace(ALPHABET[:4], length=16))
    for space in (SequenceSpace(ALPHABET[:4], length=15), SequenceSpace("ACGT", length=16), SequenceSpace(ALPHABET[:4], min_length=8, max_length=16)):
        with pytest.raises(ConfigError, match="cannot score designs"):
            Transformed(f, {"ehrlich": {"kind": "negate"}}).check_space(space)
    anything = CountingObjective(lambda xs: [0.0] * len(xs), SequenceSpace("AB", length=2), names="c")
    anything.check_space(SequenceSpace("XYZ", length=3))
