"""The built-in molecules plugin: molecule design spaces, RDKit objectives, PMO oracles and the ``score`` command.

* spaces: ``smiles`` (:class:`~gendesign.plugins.molecules.smiles.SmilesSpace`) and ``selfies``
  (:class:`~gendesign.plugins.molecules.selfies_space.SelfiesSpace`, a token space whose default
  generator is the shipped SELFIES MDLM);
* descriptor objectives (:mod:`~gendesign.plugins.molecules.objectives`): ``qed``, ``sa``,
  ``logp``, ``tpsa``, ``mw``, ``hbd``, ``hba``, ``rotatable_bonds``, ``rings``,
  ``aromatic_rings``, ``formal_charge``, ``heavy_atoms``, ``lipinski_violations``,
  ``veber_violations`` and ``descriptors`` (several at once);
* ``similarity`` (:mod:`~gendesign.plugins.molecules.similarity`), ``smarts`` and
  ``structural_alerts`` (:mod:`~gendesign.plugins.molecules.substructure`), ``isomer_score``
  (:mod:`~gendesign.plugins.molecules.isomer`);
* the 20 RDKit-only PMO/GuacaMol oracles by their PMO names, plus ``pmo_oracle`` taking the task
  name (:mod:`~gendesign.plugins.molecules.oracles`);
* ``docking``: AutoDock Vina on DOCKSTRING's receptors (:mod:`~gendesign.plugins.molecules.docking`,
  extra ``docking``);
* the command ``gendesign score`` (:mod:`~gendesign.plugins.molecules.commands`).

* memory keys ``murcko`` and ``topological`` for the diversity filter
  (:mod:`~gendesign.plugins.molecules.scaffolds`);
* the report extension ``molecules``: metrics in ``summary.json`` and the Pareto grid
  ``pareto_molecules.png`` (:mod:`~gendesign.plugins.molecules.report`).

RDKit, ``selfies`` and Vina load when a part is built or a command runs, not here.
"""

from __future__ import annotations

from typing import Any

from gendesign.core.hookspecs import Register, hookimpl

_OBJECTIVES = "gendesign.plugins.molecules.objectives"
DESCRIPTOR_OBJECTIVES = (
    "qed",
    "sa",
    "logp",
    "tpsa",
    "mw",
    "hbd",
    "hba",
    "rotatable_bonds",
    "rings",
    "aromatic_rings",
    "formal_charge",
    "heavy_atoms",
    "lipinski_violations",
    "veber_violations",
)
ORACLES = (
    "celecoxib_rediscovery",
    "troglitazone_rediscovery",
    "thiothixene_rediscovery",
    "albuterol_similarity",
    "mestranol_similarity",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "median1",
    "median2",
    "osimertinib_mpo",
    "fexofenadine_mpo",
    "ranolazine_mpo",
    "perindopril_mpo",
    "amlodipine_mpo",
    "sitagliptin_mpo",
    "zaleplon_mpo",
    "valsartan_smarts",
    "deco_hop",
    "scaffold_hop",
)
"""The PMO oracles registered under their own names (PMO's ``qed`` is the ``qed`` descriptor objective)."""


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("smiles", "gendesign.plugins.molecules.smiles:SmilesSpace")
    register("selfies", "gendesign.plugins.molecules.selfies_space:SelfiesSpace")


@hookimpl
def register_objectives(register: Register) -> None:
    for name in DESCRIPTOR_OBJECTIVES:
        register(name, f"{_OBJECTIVES}:{name}", aliases=("sa_score",) if name == "sa" else ())
    register("descriptors", f"{_OBJECTIVES}:MoleculeDescriptors")
    register("similarity", "gendesign.plugins.molecules.similarity:Similarity", aliases=("tanimoto",))
    register("smarts", "gendesign.plugins.molecules.substructure:SmartsFilter")
    register("structural_alerts", "gendesign.plugins.molecules.substructure:StructuralAlerts")
    register("isomer_score", "gendesign.plugins.molecules.isomer:IsomerScore")
    register("pmo_oracle", "gendesign.plugins.molecules.oracles:Oracle")
    for name in ORACLES:
        register(name, f"gendesign.plugins.molecules.oracles:{name}")
    register("docking", "gendesign.plugins.molecules.docking:VinaDocking", aliases=("vina_docking",))


@hookimpl
def register_commands(cli: Any) -> None:
    from gendesign.plugins.molecules.benchmark_commands import benchmark_group, molecules_mo_command, pmo_command
    from gendesign.plugins.molecules.commands import score_command

    cli.add_command(score_command)

    group = benchmark_group(cli)
    group.add_command(pmo_command)
    group.add_command(molecules_mo_command)


@hookimpl
def register_memory_keys(register: Register) -> None:
    register("murcko", "gendesign.plugins.molecules.scaffolds:murcko_key", aliases=("bemis_murcko",))
    register("topological", "gendesign.plugins.molecules.scaffolds:topological_key")


@hookimpl
def register_report_extensions(register: Register) -> None:
    register("molecules", "gendesign.plugins.molecules.report:MoleculeReport")
