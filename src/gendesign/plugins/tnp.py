"""The built-in transformer neural process plugin: registration glue only.

Registers generator ``tnp``: :class:`~gendesign.generators.tnp.model.TransformerNeuralProcess`, a
:class:`~gendesign.core.protocols.Surrogate` (condition on ``(X, y)``, bar-distribution posterior
over a pool) that ``gendesign train`` trains from a ``generator = "tnp"`` config. The shipped model
is at :func:`gendesign.generators.tnp.shipped_model_dir`; see ``docs/metabo.md``.
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_generators(register: Register) -> None:
    register("tnp", "gendesign.generators.tnp.model:TransformerNeuralProcess", aliases=("pfn",))
