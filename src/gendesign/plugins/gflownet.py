"""The built-in GFlowNet plugin: generator ``gflownet``, strategy ``gflownet``, HyperGrid objectives.

Registers through the ordinary hooks:

* generator ``gflownet``: :class:`~gendesign.generators.gflownet.policy.GFlowNetPolicy`;
* strategy ``gflownet``: :class:`~gendesign.search.gflownet.GFlowNetStrategy`;
* objectives ``hypergrid`` (:class:`~gendesign.objectives.hypergrid.HyperGrid`) and
  ``hypergrid_mo`` (:class:`~gendesign.objectives.hypergrid.HyperGridMO`), plus the OP-GFN pairs
  ``hypergrid_branin_currin``, ``hypergrid_branin_shubert``, ``hypergrid_currin_beale`` and
  ``hypergrid_shubert_beale`` on the 32 x 32 grid;
* design space ``grid`` (:class:`~gendesign.core.grid_space.GridSpace`).
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("grid", "gendesign.core.grid_space:GridSpace")


@hookimpl
def register_generators(register: Register) -> None:
    register("gflownet", "gendesign.generators.gflownet.policy:GFlowNetPolicy")


@hookimpl
def register_search_strategies(register: Register) -> None:
    register("gflownet", "gendesign.search.gflownet:GFlowNetStrategy", aliases=("gfn",))


@hookimpl
def register_objectives(register: Register) -> None:
    register("hypergrid", "gendesign.objectives.hypergrid:HyperGrid")
    register("hypergrid_mo", "gendesign.objectives.hypergrid:HyperGridMO")
    register("hypergrid_branin_currin", "gendesign.objectives.hypergrid:hypergrid_branin_currin")
    register("hypergrid_branin_shubert", "gendesign.objectives.hypergrid:hypergrid_branin_shubert")
    register("hypergrid_currin_beale", "gendesign.objectives.hypergrid:hypergrid_currin_beale")
    register("hypergrid_shubert_beale", "gendesign.objectives.hypergrid:hypergrid_shubert_beale")
