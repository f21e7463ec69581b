"""BoTorch's single-objective synthetic test functions as gendesign objectives over their own box.

``SyntheticFunction(function="branin")`` scores designs of its :meth:`~SyntheticFunction.default_space`
with ``botorch.test_functions.synthetic`` (``evaluate_true``, no noise), one minimised column named
after the function, whose known minimum is :attr:`SyntheticFunction.optimum`:

| function | inputs | domain | minimum |
|---|---|---|---|
| ``branin`` | 2 | ``[-5, 10] x [0, 15]`` | 0.397887 (three minimisers) |
| ``hartmann`` | 3, 4 or 6 | ``[0, 1]^d`` | -3.86278 (d=3), -3.32237 (d=6) |
| ``ackley`` | any | ``[-32.768, 32.768]^d`` | 0 at the origin |
| ``levy`` | any | ``[-10, 10]^d`` | 0 at ``(1, ..., 1)`` |
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor

from gendesign.core.box_space import BoxSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec

FUNCTIONS = ("branin", "hartmann", "ackley", "levy")


class SyntheticFunction(Objective):
    """One BoTorch synthetic function, minimised.

    Args:
        function: one of ``branin``, ``hartmann``, ``ackley``, ``levy``.
        dim: input dimension (``branin``: 2; ``hartmann``: 3, 4 or 6; default 2 for the others, 6 for hartmann).
    """

    deterministic = True

    def __init__(self, function: Literal["branin", "hartmann", "ackley", "levy"] = "branin", dim: int | None = None) -> None:
        from botorch.test_functions import synthetic

        makers = {"branin": lambda d: synthetic.Branin(), "hartmann": lambda d: synthetic.Hartmann(dim=d or 6),
                  "ackley": lambda d: synthetic.Ackley(dim=d or 2), "levy": lambda d: synthetic.Levy(dim=d or 2)}
        if function not in makers:
            raise ConfigError(f"function = {function!r} is not one of {', '.join(FUNCTIONS)}")
        if function == "branin" and dim not in (None, 2):
            raise ConfigError(f"branin has 2 inputs, got dim = {dim}; drop dim or set it to 2")
        try:
            self.problem = makers[function](dim)
        except (ValueError, NotImplementedError) as exc:
            raise ConfigError(f"{function} with dim = {dim}: {exc}") from None
        self.function = function
        self.optimum = float(self.problem.optimal_value) if self.problem._optimal_value is not None else None
        self.specs = (ObjectiveSpec(function, "min", description=f"BoTorch {type(self.problem).__name__} ({self.problem.dim} inputs)"),)
        self.space = BoxSpace(self.problem.bounds.T.tolist())

    def default_space(self) -> BoxSpace:
        return BoxSpace(self.problem.bounds.T.tolist())

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        return self.problem.evaluate_true(self.space.to_tensor(designs, dtype=torch.float64)).unsqueeze(-1)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "function": self.function, "dim": int(self.problem.dim)}
