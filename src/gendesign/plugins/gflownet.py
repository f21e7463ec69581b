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

from gendesign.core.grid_space import GridSpace
from gendesign.core.hookspecs import Register, hookimpl
from gendesign.generators.gflownet.policy import GFlowNetPolicy
from gendesign.objectives.hypergrid import HyperGrid, HyperGridMO
from gendesign.search.gflownet import GFlowNetStrategy


def hypergrid_branin_currin(height: int = 32) -> HyperGridMO:
    """Two-objective 2-D HyperGrid, Branin and Currin (OP-GFN Sec. 5)."""
    return HyperGridMO(("branin", "currin"), height)


def hypergrid_branin_shubert(height: int = 32) -> HyperGridMO:
    """Two-objective 2-D HyperGrid, Branin and Shubert (OP-GFN Sec. 5)."""
    return HyperGridMO(("branin", "shubert"), height)


def hypergrid_currin_beale(height: int = 32) -> HyperGridMO:
    """Two-objective 2-D HyperGrid, Currin and Beale (OP-GFN Sec. 5)."""
    return HyperGridMO(("currin", "beale"), height)


def hypergrid_shubert_beale(height: int = 32) -> HyperGridMO:
    """Two-objective 2-D HyperGrid, Shubert and Beale (OP-GFN Sec. 5)."""
    return HyperGridMO(("shubert", "beale"), height)


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("grid", GridSpace)


@hookimpl
def register_generators(register: Register) -> None:
    register("gflownet", GFlowNetPolicy)


@hookimpl
def register_search_strategies(register: Register) -> None:
    register("gflownet", GFlowNetStrategy, aliases=("gfn",))


@hookimpl
def register_objectives(register: Register) -> None:
    register("hypergrid", HyperGrid)
    register("hypergrid_mo", HyperGridMO)
    register("hypergrid_branin_currin", hypergrid_branin_currin)
    register("hypergrid_branin_shubert", hypergrid_branin_shubert)
    register("hypergrid_currin_beale", hypergrid_currin_beale)
    register("hypergrid_shubert_beale", hypergrid_shubert_beale)
