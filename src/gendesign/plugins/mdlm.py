"""Built-in MDLM plugin: registration glue for the masked diffusion generator.

Registers

* generator ``"mdlm"``: :class:`~gendesign.generators.mdlm.model.MaskedDiffusionLM` (a
  :class:`~gendesign.core.protocols.StepwiseDenoiser`, :class:`~gendesign.core.protocols.AnchoredDenoiser`,
  :class:`~gendesign.core.protocols.Infiller`, :class:`~gendesign.core.protocols.SequenceSampler`
  and :class:`~gendesign.core.protocols.LikelihoodScorer`);
* command ``gendesign sample CONFIG|MODEL_DIR`` (:mod:`gendesign.generators.mdlm.commands`);
  ``gendesign train CONFIG`` trains it (the default ``generator``, through
  :meth:`MaskedDiffusionLM.train_from_config`).

The parts that consume it are generic and registered by :mod:`gendesign.plugins.core_parts`:
the ``infill`` space (alias ``mdlm``), the ``best_of_n`` strategy (alias ``mdlm_sample``) and the
``naturalness`` objective (alias ``mdlm_naturalness``).
"""

from __future__ import annotations

from typing import Any

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_generators(register: Register) -> None:
    register("mdlm", "gendesign.generators.mdlm.model:MaskedDiffusionLM")


@hookimpl
def register_commands(cli: Any) -> None:
    from gendesign.generators.mdlm.commands import sample_command

    cli.add_command(sample_command)
