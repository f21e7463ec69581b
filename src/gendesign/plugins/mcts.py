"""The built-in plugin that registers the ``mcts`` search strategy.

:class:`~gendesign.search.mcts.MCTS` searches the reverse process of any masked diffusion model
whose ids a space can decode, so it lives outside the domain plugins and loads without their extras.
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_search_strategies(register: Register) -> None:
    register("mcts", "gendesign.search.mcts:MCTS")
