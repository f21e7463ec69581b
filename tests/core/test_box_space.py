"""BoxSpace: bounds, storage, reflection and SBX."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gendesign.core.box_space import BoxSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.testing.spaces import DesignSpaceConformance


class TestBoxConformance(DesignSpaceConformance):
    def make_space(self) -> BoxSpace:
        return BoxSpace([[0.0, 1.0], [-5.0, 5.0], [2.0, 3.0]])

    def make_invalid_designs(self) -> list[object]:
        return [[0.5, 0.0], [0.5, 0.0, 3.5], [float("nan"), 0.0, 2.5], "abc", [[0.1, 0.2, 2.1]]]


def test_validate_accepts_lists_arrays_tensors_and_rounds() -> None:
    space = BoxSpace([[0, 1], [0, 1]], decimals=6)
    expected = (0.123457, 0.5)
    for form in ([0.1234567, 0.5], np.array([0.1234567, 0.5]), torch.tensor([0.1234567, 0.5], dtype=torch.float64)):
        assert space.validate(form) == expected
    assert space.key([0.1234567, 0.5]) == space.key([0.12345671, 0.5])


def test_out_of_bounds_message_names_coordinate() -> None:
    space = BoxSpace([[0, 1], [0, 1]])
    with pytest.raises(InvalidDesignError, match=r"coordinate 1 = 1.5"):
        space.validate([0.2, 1.5])


@pytest.mark.parametrize("bounds", [[], [[1.0, 0.0]], [[0.0, float("inf")]], [[0.0, 1.0, 2.0]]])
def test_bad_bounds(bounds: list) -> None:
    with pytest.raises(ConfigError):
        BoxSpace(bounds)


def test_to_tensor_shape_and_values() -> None:
    space = BoxSpace([[0, 1], [0, 2], [0, 3]])
    x = space.to_tensor([(0.1, 0.2, 0.3), (1.0, 2.0, 3.0)])
    assert x.shape == (2, 3) and x.dtype == torch.float64
    assert torch.equal(x[1], torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))


def test_reflection_maps_into_box_like_a_mirror() -> None:
    space = BoxSpace([[0.0, 1.0]])
    x = np.array([1.25, -0.25, 2.5, -1.75])
    assert np.allclose([space._reflect(np.array([v]))[0] for v in x], [0.75, 0.25, 0.5, 0.25])


def test_mutation_stays_inside_and_perturbs_about_one_coordinate() -> None:
    space = BoxSpace([[0, 1]] * 10, mutation_scale=0.05)
    rng = np.random.default_rng(0)
    base = tuple([0.5] * 10)
    changed = []
    for _ in range(400):
        child = np.asarray(space.mutate(base, rng))
        assert np.all((child >= 0) & (child <= 1))
        changed.append(int(np.sum(child != 0.5)))
    assert min(changed) >= 1
    assert 1.0 <= np.mean(changed) <= 1.6


def test_sbx_children_are_centred_between_parents() -> None:
    space = BoxSpace([[0, 10]] * 3, eta=15.0)
    rng = np.random.default_rng(1)
    a, b = (2.0, 2.0, 2.0), (8.0, 8.0, 8.0)
    kids = np.array([space.crossover(a, b, rng) for _ in range(2000)])
    assert np.all((kids >= 0) & (kids <= 10))
    assert np.allclose(kids.mean(axis=0), 5.0, atol=0.15)
    near_parent = np.minimum(np.abs(kids - 2.0), np.abs(kids - 8.0))
    assert np.median(near_parent) < 1.0


def test_sbx_of_identical_parents_is_the_parent() -> None:
    space = BoxSpace([[0, 1], [0, 1]])
    rng = np.random.default_rng(2)
    assert space.crossover((0.3, 0.7), (0.3, 0.7), rng) == (0.3, 0.7)


def test_registered_as_box_and_built_from_options() -> None:
    from gendesign.core.plugins import PluginSystem

    system = PluginSystem(entry_points=False)
    space = system.spaces.build("box", {"bounds": [[0, 1], [2, 4]]})
    assert isinstance(space, BoxSpace) and space.dim == 2
    assert system.spaces.get("box").plugin == "gendesign.plugins.core_parts"
