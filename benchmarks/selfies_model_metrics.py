"""Quality of a SELFIES MDLM's samples: validity, uniqueness, novelty, size, QED, held-out NELBO.

Usage: python benchmarks/selfies_model_metrics.py SAMPLES.smi [MODEL_DIR]

``SAMPLES.smi`` holds one sampled SMILES per line (``gendesign sample CONFIG``); ``MODEL_DIR`` (default:
the directory holding the samples) is the model whose ``config.json`` records the held-out NELBO and
the training corpus. Validity is the verdict of the ``selfies`` space over that model's alphabet;
novelty is against the training corpus (``_meta.corpus``: RDKit's packaged NCI subset for the small
model, the first ``num_train + num_val`` molecules that survived filtering of MOSES for the MOSES
model, approximated by as many lines of the file). Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gendesign.core.errors import InvalidDesignError
from gendesign.generators.mdlm.corpus import read_corpus
from gendesign.plugins.molecules import canonical_smiles, nci_smiles_path, rdkit_chem
from gendesign.plugins.molecules.selfies_space import SelfiesSpace


def main() -> None:
    samples_path = Path(sys.argv[1])
    model_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else samples_path.parent
    chem = rdkit_chem()
    from rdkit.Chem import QED

    space = SelfiesSpace(model=str(model_dir))
    samples = [line.split()[0] if line.split() else "" for line in samples_path.read_text().splitlines()]
    valid = []
    for smiles in samples:
        try:
            valid.append(space.validate(smiles))
        except InvalidDesignError:
            continue
    meta = json.loads((model_dir / "config.json").read_text()).get("_meta", {})
    source = str(meta.get("corpus", ""))
    if source.endswith(".gz"):
        lines = read_corpus(source, meta["num_train"] + meta["num_val"], header=True)
    else:
        lines = [line.split()[0] for line in nci_smiles_path().read_text().splitlines() if line.split()]
    corpus = {canonical_smiles(line) for line in lines}
    mols = [chem.MolFromSmiles(s) for s in valid]
    n = max(len(samples), 1)
    print(
        json.dumps(
            {
                "samples": len(samples),
                "validity": len(valid) / n,
                "unique": len(set(valid)),
                "novel": len(set(valid) - corpus),
                "mean_heavy_atoms": sum(m.GetNumHeavyAtoms() for m in mols) / max(len(mols), 1),
                "mean_qed": sum(QED.qed(m) for m in mols) / max(len(mols), 1),
                "val_nelbo_per_token": meta.get("val_nelbo_per_token"),
                "global_step": meta.get("global_step"),
            }
        )
    )


if __name__ == "__main__":
    main()
