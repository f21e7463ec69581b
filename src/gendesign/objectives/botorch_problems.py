"""BoTorch's multi-objective test problems as gendesign objectives over a box space.

Wrapped problems (``botorch.test_functions.multi_objective``), all *minimised* in their raw form
(BoTorch's ``negate=False``), so every column here has ``direction="min"`` and the values are
BoTorch's ``evaluate_true`` outputs unchanged:

* **BraninCurrin** (Belakaria, Deshwal & Doppa 2019): ``d = 2`` on ``[0, 1]^2``; Branin rescaled
  to the unit square and the Currin exponential function.
* **DTLZ2** (Deb, Thiele, Laumanns & Zitzler 2002): ``d > M`` on ``[0, 1]^d``,
  ``f_i = (1 + g) prod cos(x_j pi / 2) [sin(x pi / 2)]`` with ``g = sum_{i >= M} (x_i - 0.5)^2``;
  the Pareto front is the positive part of the unit sphere.
* **ZDT1/2/3** (Zitzler, Deb & Thiele 2000): ``d >= 2`` on ``[0, 1]^d``, ``f_0 = x_0``,
  ``f_1 = g h(f_0, g)`` with ``g = 1 + 9/(d-1) sum_{i >= 1} x_i`` and ``h = 1 - sqrt(f_0/g)``
  (ZDT1), ``1 - (f_0/g)^2`` (ZDT2), ``1 - sqrt(f_0/g) - (f_0/g) sin(10 pi f_0)`` (ZDT3).

Each problem carries BoTorch's hypervolume reference point (:attr:`BoTorchProblem.ref_point`, raw
minimisation units) and the maximum hypervolume of its Pareto front for that point
(:attr:`BoTorchProblem.max_hv`). Every spec has ``bounds=(0, ref_k)``: 0 is a lower bound of every
value, and the upper end equals the reference point, so that
:func:`gendesign.core.pareto.reference_point` (rule 1, the worst bound per column) reproduces the
reference point BoTorch uses and campaign hypervolumes are comparable with :attr:`max_hv`.
Values can exceed the upper bound for poor designs; those points add nothing to the hypervolume.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.box_space import BoxSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, canonical_values, resolve_device
from gendesign.core.pareto import hypervolume


class BoTorchProblem(Objective):
    """Base wrapper: a BoTorch ``MultiObjectiveTestProblem`` scored on designs from :meth:`default_space`.

    Values are `[B, M]` float64 and minimised. Subclasses set :attr:`problem`.

    Attributes:
        problem: the BoTorch test problem instance (``negate=False``).
        ref_point: `[M]` BoTorch's reference point in raw (minimisation) units.
        max_hv: hypervolume of the true Pareto front with respect to :attr:`ref_point`.
    """

    problem: Any
    label: str = "problem"

    def _setup(self, problem: Any, device: str | torch.device) -> None:
        self.problem = problem
        self.device = resolve_device(device)
        ref = [float(r) for r in problem.ref_point.tolist()]
        self.ref_point = torch.tensor(ref, dtype=torch.float64)
        self.max_hv = float(problem.max_hv)
        self.specs = tuple(
            ObjectiveSpec(
                f"{self.label}_f{k}", "min", bounds=(0.0, ref[k]), description=f"{type(problem).__name__} objective {k}"
            )
            for k in range(problem.num_objectives)
        )
        self.space = BoxSpace(problem.bounds.T.tolist())

    @property
    def dim(self) -> int:
        return int(self.problem.dim)

    def default_space(self) -> BoxSpace:
        """The problem's input box as a :class:`BoxSpace`."""
        return BoxSpace(self.problem.bounds.T.tolist())

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        x = self.space.to_tensor(designs, dtype=torch.float64)
        return self.problem.evaluate_true(x).to(self.device, torch.float64)

    def hypervolume(self, values: Tensor) -> float:
        """Hypervolume of raw values `[N, M]` w.r.t. :attr:`ref_point`, comparable with :attr:`max_hv`."""
        canon = canonical_values(values.to(torch.float64), self.specs)
        return hypervolume(canon, -self.ref_point)

    def pareto_front(self, n: int) -> Tensor:
        """`[n, M]` raw values on the true Pareto front (BoTorch's ``gen_pareto_front``)."""
        try:
            front = self.problem.gen_pareto_front(n)
        except NotImplementedError:
            raise ConfigError(
                f"{type(self.problem).__name__} has no closed-form Pareto front; sample the input box instead"
            ) from None
        return front.to(torch.float64)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "dim": self.dim, "num_objectives": len(self.specs)}


class BraninCurrin(BoTorchProblem):
    """BraninCurrin: two minimised objectives on ``[0, 1]^2``; reference point ``(18, 6)``."""

    label = "branin_currin"

    def __init__(self, device: str | torch.device = "cpu") -> None:
        from botorch.test_functions.multi_objective import BraninCurrin as _Problem

        self._setup(_Problem(), device)


class DTLZ2(BoTorchProblem):
    """DTLZ2 with ``num_objectives`` minimised objectives on ``[0, 1]^dim``; reference point ``1.1`` per column.

    Args:
        dim: input dimension ``d > num_objectives``.
        num_objectives: ``M >= 2``.
        device: where values are returned.
    """

    label = "dtlz2"

    def __init__(self, dim: int = 6, num_objectives: int = 2, device: str | torch.device = "cpu") -> None:
        if num_objectives < 2 or dim <= num_objectives:
            raise ConfigError(
                f"DTLZ2 needs num_objectives >= 2 and dim > num_objectives, got dim={dim}, num_objectives={num_objectives}"
            )
        from botorch.test_functions.multi_objective import DTLZ2 as _Problem

        self._setup(_Problem(dim=dim, num_objectives=num_objectives), device)


class _ZDT(BoTorchProblem):
    """Shared constructor of the ZDT problems.

    Args:
        dim: input dimension ``d >= 2``.
        device: where values are returned.
    """

    def __init__(self, dim: int = 4, device: str | torch.device = "cpu") -> None:
        if dim < 2:
            raise ConfigError(f"{type(self).__name__} needs dim >= 2, got dim={dim}")
        from botorch.test_functions import multi_objective as mo

        self._setup(getattr(mo, type(self).__name__)(dim=dim), device)


class ZDT1(_ZDT):
    """ZDT1: convex front ``f_1 = 1 - sqrt(f_0)``; two minimised objectives on ``[0, 1]^dim``; reference ``(11, 11)``."""

    label = "zdt1"


class ZDT2(_ZDT):
    """ZDT2: concave front ``f_1 = 1 - f_0^2``; two minimised objectives on ``[0, 1]^dim``; reference ``(11, 11)``."""

    label = "zdt2"


class ZDT3(_ZDT):
    """ZDT3: disconnected front ``f_1 = 1 - sqrt(f_0) - f_0 sin(10 pi f_0)``; two minimised objectives; reference ``(11, 11)``."""

    label = "zdt3"
