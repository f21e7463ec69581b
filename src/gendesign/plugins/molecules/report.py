"""The ``molecules`` report extension: molecule metrics in ``summary.json`` and a grid of the Pareto molecules.

Every run on the ``smiles`` or ``selfies`` space writes it (the spaces name it in
``report_extensions``); ``[[reports]] name = "molecules"`` sets its options. ``summary.json`` gains a
``molecules`` entry (definitions in :mod:`~gendesign.plugins.molecules.metrics`):

* ``valid_molecules``: scored designs that are valid molecules;
* ``uniqueness``: the share of the strategy's proposals that were new molecules,
  ``1 - duplicates / raw_calls`` (the run's history itself holds each molecule once);
* ``novelty``: the share of valid molecules not in the reference set (``reference``; default RDKit's
  packaged NCI set, the ``smiles`` space's default pool);
* ``internal_diversity`` and ``internal_diversity_pareto``: mean pairwise ``1 - Tanimoto`` on ECFP4
  over all valid molecules and over the Pareto set;
* ``scaffolds``: distinct Bemis-Murcko and topological scaffolds of the valid molecules and of
  the Pareto set, and the most frequent Murcko scaffolds.

With plots on, ``pareto_molecules.png`` draws up to ``grid_size`` Pareto molecules with RDKit, in
``pareto.csv`` order, each labelled with its objective values (and, in parentheses, the raw value
of a transformed column, from its ``<name>_raw`` column).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gendesign.core.atomic import atomic_open
from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError
from gendesign.core.report import ReportSection, RunData
from gendesign.plugins.molecules.metrics import (
    DIVERSITY_MAX_MOLECULES,
    internal_diversity,
    novelty,
    read_reference,
    scaffold_counts,
)
from gendesign.plugins.molecules.mols import parse_smiles

GRID_FILE = "pareto_molecules.png"


def _smiles(text: str, space: DesignSpace | None) -> str | None:
    design = space.from_json(text) if space is not None else json.loads(text)
    return design if isinstance(design, str) else None


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.3g}"


class MoleculeReport:
    """Molecule metrics and the Pareto grid (see the module docstring).

    Args:
        reference: ``"nci"`` (RDKit's packaged NCI set), a SMILES file, or ``"none"`` for no novelty.
        grid_size: most molecules drawn.
        columns: molecules per grid row.
        image_size: pixels per molecule (square).
        max_diversity_molecules: internal diversity uses at most this many molecules.
        top_scaffolds: how many of the most frequent scaffolds ``summary.json`` lists.
    """

    def __init__(
        self,
        reference: str = "nci",
        grid_size: int = 24,
        columns: int = 4,
        image_size: int = 300,
        max_diversity_molecules: int = DIVERSITY_MAX_MOLECULES,
        top_scaffolds: int = 10,
    ) -> None:
        for name, value in (("grid_size", grid_size), ("columns", columns), ("image_size", image_size), ("max_diversity_molecules", max_diversity_molecules)):
            if value < 1:
                raise ConfigError(f"[[reports]] molecules: {name} = {value}; use 1 or more")
        if top_scaffolds < 0:
            raise ConfigError(f"[[reports]] molecules: top_scaffolds = {top_scaffolds}; use 0 or more")
        self.reference = reference
        self.grid_size = grid_size
        self.columns = columns
        self.image_size = image_size
        self.max_diversity_molecules = max_diversity_molecules
        self.top_scaffolds = top_scaffolds

    def write(self, run_dir: Path, data: RunData, front: Sequence[int], space: DesignSpace | None, plots: bool) -> ReportSection:
        rows = [i for i in range(len(data.entries)) if bool(data.scored[i]) and bool(data.valid[i])]
        smiles_of = {i: _smiles(data.entries[i].evaluation.design, space) for i in rows}
        molecules = [s for s in smiles_of.values() if s is not None]
        pareto = [s for s in (smiles_of.get(i) for i in front) if s is not None]
        counters = data.meta.get("counters", {})
        raw_calls = int(counters.get("raw_calls", 0))
        summary: dict[str, Any] = {
            "valid_molecules": len(molecules),
            "uniqueness": 1.0 - int(counters.get("duplicates", 0)) / raw_calls if raw_calls else None,
            "reference": None if self.reference == "none" else self.reference,
            "novelty": None if self.reference == "none" else novelty(molecules, read_reference(self.reference)),
            "internal_diversity": internal_diversity(molecules, self.max_diversity_molecules),
            "internal_diversity_pareto": internal_diversity(pareto, self.max_diversity_molecules),
        }
        murcko = scaffold_counts(molecules, "murcko")
        summary["scaffolds"] = {
            "murcko": len(murcko),
            "topological": len(scaffold_counts(molecules, "topological")),
            "pareto_murcko": len(scaffold_counts(pareto, "murcko")),
            "top_murcko": [[s, n] for s, n in sorted(murcko.items(), key=lambda kv: (-kv[1], kv[0]))[: self.top_scaffolds]],
        }
        files: list[str] = []
        if plots and front:
            self.draw_grid(run_dir / GRID_FILE, data, front, space)
            files.append(GRID_FILE)
        return ReportSection(summary, files)

    def draw_grid(self, path: Path, data: RunData, front: Sequence[int], space: DesignSpace | None) -> None:
        """``path``: the Pareto molecules in ``pareto.csv`` order, labelled with their objective values."""
        from rdkit.Chem import Draw

        cols = data.objective_columns
        names = [s.name for s in data.specs]
        raw = {k: names.index(f"{names[k]}_raw") for k in cols if f"{names[k]}_raw" in names}
        first = cols[0]
        order = sorted(front, key=lambda i: -data.specs[first].sign * float(data.values[i, first]))
        mols, legends = [], []
        for i in order:
            smiles = _smiles(data.entries[i].evaluation.design, space)
            mol, _ = parse_smiles(smiles) if smiles is not None else (None, None)
            if mol is None:
                continue
            mols.append(mol)
            legends.append("\n".join(f"{names[k]} {_fmt(float(data.values[i, k]))}" + (f" ({_fmt(float(data.values[i, raw[k]]))})" if k in raw else "") for k in cols))
            if len(mols) == self.grid_size:
                break
        options = Draw.MolDrawOptions()
        options.legendFontSize = 16
        options.legendFraction = 0.08 + 0.06 * min(len(cols), 5)
        image = Draw.MolsToGridImage(
            mols, molsPerRow=min(self.columns, max(len(mols), 1)), subImgSize=(self.image_size, self.image_size), legends=legends, drawOptions=options
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        with atomic_open(path, "wb") as fh:
            fh.write(buffer.getvalue())
