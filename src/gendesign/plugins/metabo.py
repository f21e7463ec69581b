"""Built-in meta-BO plugin: registration glue for the ``metabo`` strategy and the exact GP surrogate.

Registers

* strategy ``"metabo"``: :class:`~gendesign.search.metabo.MetaBO` (Bayesian optimisation with any
  :class:`~gendesign.core.protocols.Surrogate` generator, by default the shipped TNP);
* generator ``"nap"``: :class:`~gendesign.generators.nap.policy.NAPPolicy` (a TNP with a learned
  acquisition head, trained with ``gendesign train`` and ``generator = "nap"``);
* generator ``"gp"``: :class:`~gendesign.search.gp_surrogate.GPSurrogate` (an exact GP that
  satisfies :class:`~gendesign.core.protocols.Surrogate`; ``metabo``'s reference and fallback model).
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_search_strategies(register: Register) -> None:
    register("metabo", "gendesign.search.metabo:MetaBO")


@hookimpl
def register_generators(register: Register) -> None:
    register("gp", "gendesign.search.gp_surrogate:GPSurrogate")
    register("nap", "gendesign.generators.nap.policy:NAPPolicy")
