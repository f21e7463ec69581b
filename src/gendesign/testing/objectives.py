"""Conformance tests every :class:`~gendesign.core.objective.Objective` should pass.

Subclass :class:`ObjectiveConformance` in a pytest test class and provide the objective and a
batch of designs; pytest then collects the ``test_*`` methods below::

    from gendesign.testing.objectives import ObjectiveConformance

    class TestMyObjective(ObjectiveConformance):
        def make_objective(self):
            return MyObjective(seed=0)

        def make_designs(self):
            return ["ACDE", "KLMN", "", "ZZZZ"]   # include designs that should come back invalid

``make_designs`` should return at least two designs. Every invalid item must carry error text
in ``Scores.errors`` (the ledger records why a design failed). Set ``atol`` when batched evaluation is not
bit-identical to single-item evaluation (batched matmuls on GPU); set ``expect_invalid = True``
to require that the batch contains at least one invalid item (so that the NaN checks are exercised).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

from gendesign.core.objective import Objective, Scores

__all__ = ["ObjectiveConformance"]


class ObjectiveConformance:
    """Pytest mixin: the Scores contract for one objective on one batch of designs.

    Attributes:
        atol: tolerance for comparing values across calls and batch compositions.
        expect_invalid: require at least one invalid item in :meth:`make_designs`.
    """

    atol: float = 0.0
    expect_invalid: bool = False

    @abstractmethod
    def make_objective(self) -> Objective:
        """The objective under test; called afresh by each test."""
        raise NotImplementedError(f"{type(self).__name__} must define make_objective() returning the Objective under test")

    @abstractmethod
    def make_designs(self) -> Sequence[Any]:
        """At least two designs for the objective."""
        raise NotImplementedError(f"{type(self).__name__} must define make_designs() returning a batch of designs")

    def _score(self) -> tuple[Objective, list[Any], Scores]:
        obj = self.make_objective()
        designs = list(self.make_designs())
        assert len(designs) >= 2, f"make_designs() must return at least 2 designs, got {len(designs)}"
        return obj, designs, obj(designs)

    def _assert_same(self, a: Tensor, b: Tensor, what: str) -> None:
        assert a.shape == b.shape, f"{what}: shapes {list(a.shape)} vs {list(b.shape)}"
        nan_a, nan_b = torch.isnan(a), torch.isnan(b)
        assert torch.equal(nan_a, nan_b), f"{what}: NaN patterns differ"
        assert torch.allclose(a[~nan_a], b[~nan_b], atol=self.atol, rtol=0.0), f"{what}: values differ beyond atol={self.atol}"

    def test_output_shape_and_dtype(self) -> None:
        obj, designs, scores = self._score()
        b, k = len(designs), len(obj.specs)
        assert isinstance(scores, Scores)
        assert tuple(scores.values.shape) == (b, k), f"values shape {list(scores.values.shape)}, expected [{b}, {k}]"
        assert scores.values.dtype in (torch.float32, torch.float64), f"values dtype {scores.values.dtype}, expected float32 or float64"
        assert scores.specs == tuple(obj.specs), "Scores.specs must be the objective's specs"
        assert len(scores.errors) == b
        if scores.std is not None:
            assert tuple(scores.std.shape) == (b, k), f"std shape {list(scores.std.shape)}, expected [{b}, {k}]"
            finite_std = scores.std[scores.valid]
            assert bool((finite_std[~torch.isnan(finite_std)] >= 0).all()), "std must be >= 0"

    def test_valid_mask(self) -> None:
        _, designs, scores = self._score()
        assert scores.valid.dtype == torch.bool, f"valid dtype {scores.valid.dtype}, expected bool"
        assert tuple(scores.valid.shape) == (len(designs),)
        if self.expect_invalid:
            assert not bool(scores.valid.all()), "expected at least one invalid design in make_designs()"

    def test_nan_exactly_where_invalid(self) -> None:
        _, _, scores = self._score()
        values = scores.values.detach()
        assert bool(torch.isnan(values[~scores.valid]).all()), "invalid items must have NaN in every column"
        assert bool(torch.isfinite(values[scores.valid]).all()), "valid items must have finite values in every column"
        for i, ok in enumerate(scores.valid.tolist()):
            if not ok:
                assert scores.errors[i], f"invalid item {i} carries no error text"

    def test_deterministic(self) -> None:
        obj = self.make_objective()
        if not obj.deterministic:
            pytest.skip(f"{obj.name!r} is not deterministic")
        designs = list(self.make_designs())
        first, second = obj(designs), obj(designs)
        assert torch.equal(first.valid, second.valid), "validity changed between two identical calls"
        self._assert_same(first.values, second.values, "two identical calls")
        fresh = self.make_objective()(designs)
        self._assert_same(first.values, fresh.values, "a freshly built objective")

    def test_fingerprint_stable(self) -> None:
        obj = self.make_objective()
        fp = obj.fingerprint()
        assert isinstance(fp, str) and fp, "fingerprint must be a non-empty string"
        obj(list(self.make_designs()))
        assert obj.fingerprint() == fp, "scoring must not change the fingerprint"
        assert self.make_objective().fingerprint() == fp, "two identically built objectives must share a fingerprint"

    def test_specs_names_unique(self) -> None:
        obj = self.make_objective()
        names = [s.name for s in obj.specs]
        assert names, "an objective needs at least one column"
        assert len(set(names)) == len(names), f"column names must be unique, got {names}"
        for s in obj.specs:
            assert s.direction in ("max", "min")
            if s.kind == "constraint":
                assert s.threshold is not None and math.isfinite(s.threshold)

    def test_empty_batch(self) -> None:
        obj = self.make_objective()
        scores = obj([])
        assert tuple(scores.values.shape) == (0, len(obj.specs))
        assert tuple(scores.valid.shape) == (0,)

    def test_single_design_equals_its_batch_row(self) -> None:
        obj, designs, batch = self._score()
        for i, design in enumerate(designs):
            single = obj([design])
            assert bool(single.valid[0]) == bool(batch.valid[i]), f"design {i}: validity differs alone vs in the batch"
            self._assert_same(single.values[0].detach(), batch.values[i].detach(), f"design {i} alone vs in the batch")

    def test_gradients_when_differentiable(self) -> None:
        """For a differentiable objective on floating-point tensor designs, gradients reach the designs."""
        obj = self.make_objective()
        designs = list(self.make_designs())
        if not obj.differentiable:
            pytest.skip(f"{obj.name!r} is not differentiable")
        if not all(isinstance(d, Tensor) and d.is_floating_point() for d in designs):
            pytest.skip("make_designs() returned designs that are not floating-point tensors")
        leaves = [d.detach().clone().requires_grad_(True) for d in designs]
        scores = obj(leaves, grad=True)
        valid_values = scores.values[scores.valid]
        if not valid_values.numel():
            pytest.skip("no design of make_designs() was valid, so no gradient can be checked")
        assert valid_values.requires_grad, "a differentiable objective called with grad=True must return values with a graph"
        valid_values.sum().backward()
        reached = [leaf.grad is not None for leaf, ok in zip(leaves, scores.valid.tolist()) if ok]
        assert all(reached), "gradients must flow back to every valid design"
