"""Same-architecture reward models evaluated as one batched call under ``torch.func.vmap``.

``M`` modules with identical structure have their parameters and buffers stacked along a new
leading axis (``torch.func.stack_module_state``); one ``vmap`` over that axis of
``functional_call(base, (params_m, buffers_m), (x,))`` replaces ``M`` separate forward passes.
The result equals the member-by-member loop up to float rounding (a batched matmul may sum in
another order: about one float32 ulp; exact agreement in float64 to ~1e-16) and
feeds :class:`~gendesign.objectives.compose.Ensemble` through the
:class:`~gendesign.objectives.compose.MemberSource` protocol.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, ObjectiveError
from gendesign.core.objective import ObjectiveSpec, make_specs, resolve_device
from gendesign.objectives.compose import MemberScores

__all__ = ["StackedMembers"]


def _signature(module: nn.Module) -> tuple[Any, ...]:
    state = [(k, tuple(v.shape), v.dtype) for k, v in module.state_dict().items()]
    return (type(module), tuple(state))


def _weights_hash(tensors: dict[str, Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        h.update(k.encode())
        h.update(tensors[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class StackedMembers:
    """``M`` modules of one architecture scored in one ``vmap`` call: values `[M, B, K]`.

    Args:
        modules: at least one ``nn.Module``; all must have the same class and parameter/buffer
            names, shapes and dtypes. They are used in eval mode and not modified.
        featurize: maps a batch of designs to the modules' input tensor `[B, ...]`.
        specs: the ``K`` output columns (or ``names`` for plain maximised columns).
        names: column names when ``specs`` is not given.
        vectorize: ``False`` runs the plain member loop instead of ``vmap`` (same values; for
            modules whose operations ``vmap`` does not support).
        fingerprint: a string naming the weights (e.g. a checkpoint hash); default: a hash of the
            stacked weights. Part of :meth:`config`, so caches keyed by the ensemble's fingerprint
            change when the weights do.

    Example:
        >>> import torch
        >>> nets = [torch.nn.Linear(3, 1) for _ in range(4)]
        >>> members = StackedMembers(nets, lambda xs: torch.stack(list(xs)), names="r")
        >>> members.score_members([torch.ones(3), torch.zeros(3)], grad=False).values.shape
        torch.Size([4, 2, 1])
    """

    def __init__(
        self,
        modules: Sequence[nn.Module],
        featurize: Callable[[Sequence[Any]], Tensor],
        specs: Sequence[ObjectiveSpec] | None = None,
        *,
        names: str | Sequence[str] | None = None,
        vectorize: bool = True,
        fingerprint: str | None = None,
    ) -> None:
        modules = list(modules)
        if not modules:
            raise ConfigError("StackedMembers needs at least one module")
        sig = _signature(modules[0])
        bad = [i for i, m in enumerate(modules) if _signature(m) != sig]
        if bad:
            raise ConfigError(
                f"StackedMembers: modules {bad} differ from module 0 in class or parameter names, shapes or dtypes; "
                "stack only same-architecture members, or use Ensemble([objective, ...])"
            )
        from torch.func import stack_module_state

        self.modules = [m.eval() for m in modules]
        params, buffers = stack_module_state(self.modules)
        self.params = {k: v.detach() for k, v in params.items()}
        self.buffers = {k: v.detach() for k, v in buffers.items()}
        self.base = copy.deepcopy(modules[0]).to("meta")
        self.featurize = featurize
        self.specs = tuple(specs) if specs is not None else make_specs(names)
        self.vectorize = bool(vectorize)
        self.fingerprint = fingerprint if fingerprint is not None else _weights_hash({**self.params, **self.buffers})
        self.differentiable = False
        self.deterministic = True
        self.device = next(iter(self.params.values())).device if self.params else torch.device("cpu")

    def __len__(self) -> int:
        return len(self.modules)

    def _call_one(self, params: dict[str, Tensor], buffers: dict[str, Tensor], x: Tensor) -> Tensor:
        return torch.func.functional_call(self.base, (params, buffers), (x,))

    def forward(self, x: Tensor) -> Tensor:
        """Member outputs `[M, B, K]` for inputs ``x`` `[B, ...]` (a `[M, B]` output gains ``K = 1``)."""
        if self.vectorize:
            out = torch.func.vmap(self._call_one, in_dims=(0, 0, None))(self.params, self.buffers, x)
        else:
            out = self.loop(x)
        return out.unsqueeze(-1) if out.ndim == 2 else out

    def loop(self, x: Tensor) -> Tensor:
        """The same outputs as :meth:`forward`, one member after the other (the reference for tests)."""
        with torch.no_grad():
            return torch.stack([m(x) for m in self.modules])

    def score_members(self, designs: Sequence[Any], *, grad: bool) -> MemberScores:
        del grad  # stacked weights are frozen: the ensemble never trains through them
        x = self.featurize(designs).to(self.device)
        with torch.no_grad():
            values = self.forward(x)
        m, b, k = len(self), len(designs), len(self.specs)
        if tuple(values.shape) != (m, b, k):
            raise ObjectiveError(f"StackedMembers: the modules returned shape {list(values.shape)}; expected [{m}, {b}, {k}]")
        valid = torch.isfinite(values).all(dim=0).all(dim=-1)
        errors = [None if bool(ok) else "a stacked member returned a non-finite value" for ok in valid]
        return MemberScores(values=values, valid=valid, errors=errors)

    def to(self, device: str | torch.device) -> StackedMembers:
        self.device = resolve_device(device)
        self.params = {k: v.to(self.device) for k, v in self.params.items()}
        self.buffers = {k: v.to(self.device) for k, v in self.buffers.items()}
        self.modules = [m.to(self.device) for m in self.modules]
        return self

    def default_space(self) -> DesignSpace | None:
        return None

    def check_space(self, space: DesignSpace) -> None:
        del space

    def config(self) -> dict[str, Any]:
        return {
            "stacked": f"{type(self.modules[0]).__module__}.{type(self.modules[0]).__qualname__}",
            "num_members": len(self),
            "fingerprint": self.fingerprint,
        }
