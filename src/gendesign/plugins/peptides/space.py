"""Peptide design spaces: residue level (``"peptide"``) and SMILES level (``"peptide_smiles"``).

:class:`PeptideSpace` designs are peptide strings in the notation of
:mod:`~gendesign.plugins.peptides.notation` (``Ac-GLW[dK]-NH2``, ``cyclo(GLWK)``). The residue chain
is a :class:`~gendesign.core.sequence_space.SequenceSpace` over monomer codes, which supplies the
substitution / insertion / deletion mutations, crossover and the token ids a masked diffusion model
works on; termini and cyclisation sit on top.

:class:`PeptideSmilesSpace` designs are SMILES strings. A design is valid only when the strict
backbone parser (:func:`~gendesign.plugins.peptides.smiles.smiles_to_peptide`) decodes it into
allowed monomers, so the space can host a SMILES-level generator while every proposal it accepts
is a real peptide. Its token vocabulary is the SMILES atom/bond alphabet of the monomer library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.sequence_space import SequenceSpace
from gendesign.plugins.peptides.monomers import C_CAPS, N_CAPS, resolve_monomer_set
from gendesign.plugins.peptides.notation import Peptide, parse_peptide, remember
from gendesign.plugins.peptides.smiles import chain_smiles, peptide_to_smiles, smiles_to_peptide

Cyclisation = Literal["none", "optional", "always"]
_SAMPLE_ROUNDS = 64
MAX_SMILES_TOKENS = 10_000
"""Largest ``max_tokens`` of a :class:`PeptideSmilesSpace`; RDKit stalls on far longer strings."""


class PeptideSpace(DesignSpace):
    """Peptides over a monomer set, with optional terminal caps and head-to-tail cyclisation.

    Args:
        monomers: ``"canonical"`` (the 20 proteinogenic residues), ``"all"``, or a list of codes
            and set names (``"d"``, ``"nme"``, ``"noncanonical"``) from
            :data:`~gendesign.plugins.peptides.monomers.MONOMERS`.
        min_length: fewest residues.
        max_length: most residues.
        n_caps: admissible N-terminal caps; the first is the default for designs built from token ids.
        c_caps: admissible C-terminal caps; the first is the default.
        cyclisation: ``"none"``, ``"optional"`` or ``"always"`` (head-to-tail).
        mutation_weights: relative rates of (substitution, insertion, deletion) of residues.
        terminus_mutation_rate: probability that :meth:`mutate` changes a cap or the cyclisation
            instead of a residue (only when there is a choice).
    """

    def __init__(
        self,
        monomers: str | list[str] = "canonical",
        min_length: int = 5,
        max_length: int = 30,
        n_caps: list[str] | None = None,
        c_caps: list[str] | None = None,
        cyclisation: Cyclisation = "none",
        mutation_weights: tuple[float, float, float] = (0.8, 0.1, 0.1),
        terminus_mutation_rate: float = 0.1,
    ) -> None:
        self.monomers = resolve_monomer_set(monomers)
        self.n_caps = tuple(n_caps or ["H"])
        self.c_caps = tuple(c_caps or ["OH"])
        for cap in self.n_caps:
            if cap not in N_CAPS:
                raise ConfigError(f"n_caps contains {cap!r}; choose from {sorted(N_CAPS)}")
        for cap in self.c_caps:
            if cap not in C_CAPS:
                raise ConfigError(f"c_caps contains {cap!r}; choose from {sorted(C_CAPS)}")
        if cyclisation not in ("none", "optional", "always"):
            raise ConfigError(f"cyclisation={cyclisation!r}; use 'none', 'optional' or 'always'")
        if cyclisation == "always" and min_length < 2:
            raise ConfigError(f"cyclisation='always' needs min_length >= 2, got {min_length}")
        if not 0.0 <= terminus_mutation_rate <= 1.0:
            raise ConfigError(f"terminus_mutation_rate={terminus_mutation_rate} must lie in [0, 1]")
        self.cyclisation = cyclisation
        self.terminus_mutation_rate = float(terminus_mutation_rate)
        self.chain = SequenceSpace(
            list(self.monomers), min_length=min_length, max_length=max_length, separator=" ", mutation_weights=mutation_weights
        )
        self._allowed = frozenset(self.monomers)
        self._checked: dict[str, Peptide] = {}
        # Generous bound on the notation's length: every residue bracketed, both caps, "cyclo()", padding.
        longest_cap = max(len(c) for c in (*N_CAPS, *C_CAPS))
        self._max_chars = self.max_length * (max(len(m) for m in self.monomers) + 2) + 2 * longest_cap + 16

    @property
    def min_length(self) -> int:
        return self.chain.min_length

    @property
    def max_length(self) -> int:
        return self.chain.max_length

    @property
    def tokens(self) -> list[str]:
        """Monomer codes; a token id is a position in this list."""
        return self.chain.tokens

    @property
    def vocab_size(self) -> int:
        return self.chain.vocab_size

    @property
    def pad_id(self) -> int:
        """Id after the last monomer; ends a chain in :meth:`decode`."""
        return self.chain.pad_id

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "monomers": list(self.monomers),
            "min_length": self.min_length,
            "max_length": self.max_length,
            "n_caps": list(self.n_caps),
            "c_caps": list(self.c_caps),
            "cyclisation": self.cyclisation,
        }

    def peptide(self, design: Any) -> Peptide:
        """The :class:`Peptide` of ``design`` after every check of :meth:`validate`."""
        if isinstance(design, str) and design in self._checked:
            return self._checked[design]
        pep = self._check(design)
        if isinstance(design, str):
            self._mark_checked(design, pep)
        return pep

    def _mark_checked(self, text: str, pep: Peptide) -> None:
        if len(self._checked) >= 1 << 16:
            self._checked.clear()
        self._checked[text] = pep

    def _check(self, design: Any) -> Peptide:
        if isinstance(design, Peptide):
            pep = design
        elif isinstance(design, str):
            if len(design) > self._max_chars:
                raise InvalidDesignError(
                    f"peptide text of {len(design)} characters ({design[:40]!r}...) is longer than any peptide of at most "
                    f"max_length={self.max_length} residues can be written; raise max_length to admit longer peptides"
                )
            pep = parse_peptide(design)
        else:
            pep = self._default_termini(tuple(self.chain.tokenize(design)))
        if not self._allowed.issuperset(pep.residues):
            bad = [c for c in pep.residues if c not in self._allowed]
            raise InvalidDesignError(f"{pep} uses monomers {sorted(set(bad))} outside this space's set {list(self.monomers)}")
        if not self.min_length <= len(pep) <= self.max_length:
            raise InvalidDesignError(f"{pep} has {len(pep)} residues; this space needs {self.min_length} to {self.max_length}")
        if pep.cyclic and self.cyclisation == "none":
            raise InvalidDesignError(f"{pep} is cyclic but this space has cyclisation='none'")
        if not pep.cyclic and self.cyclisation == "always":
            raise InvalidDesignError(f"{pep} is linear but this space has cyclisation='always'")
        if not pep.cyclic and (pep.n_cap not in self.n_caps or pep.c_cap not in self.c_caps):
            raise InvalidDesignError(
                f"{pep} has caps ({pep.n_cap}, {pep.c_cap}); this space allows N {list(self.n_caps)}, C {list(self.c_caps)}"
            )
        return pep

    def _default_termini(self, codes: tuple[str, ...]) -> Peptide:
        if self.cyclisation == "always":
            return Peptide(codes, cyclic=True)
        return Peptide(codes, n_cap=self.n_caps[0], c_cap=self.c_caps[0])

    def validate(self, design: Any) -> str:
        return str(self.peptide(design))

    def key(self, design: Any) -> str:
        return self.validate(design)

    def to_json(self, design: Any) -> str:
        return json.dumps(self.validate(design))

    def from_json(self, text: str) -> str:
        return self.validate(json.loads(text))

    def display(self, design: Any) -> str:
        return self.validate(design)

    def default_generator(self) -> GeneratorSpec:
        """The shipped peptide MDLM (``{name = "mdlm", path = <package data>}``), used by model-backed strategies such as ``mcts``.

        Raises:
            ConfigError: if this space's monomer set differs from the model's vocabulary
                (``monomers="all"``); train a model on this space's monomers and pass its path instead.
        """
        from gendesign.plugins.peptides.train_mdlm import shipped_path

        path = shipped_path()
        cfg_file = path / "config.json"
        if not cfg_file.is_file():
            raise ConfigError(f"the shipped peptide MDLM is missing at {path}; reinstall gendesign or pass a model path")
        tokens = json.loads(cfg_file.read_text()).get("tokenizer", {}).get("tokens")
        if tokens != self.tokens:
            raise ConfigError(
                f"the shipped peptide MDLM reads monomers='all' ({len(tokens or [])} tokens) but this space has "
                f"{self.vocab_size} monomers {list(self.monomers)[:5]}...; use monomers='all' or pass the strategy a model "
                "trained on this space (python -m gendesign.plugins.peptides.train_mdlm shows how)"
            )
        return GeneratorSpec(name="mdlm", path=str(path))

    def smiles(self, design: Any) -> str:
        """Canonical isomeric SMILES of ``design`` (exact; built residue by residue)."""
        return peptide_to_smiles(self.peptide(design))

    def describe(self, design: Any) -> dict[str, Any]:
        pep = self.peptide(design)
        return {"smiles": peptide_to_smiles(pep), "length": len(pep)}

    def ids(self, design: Any) -> list[int]:
        return self.chain.ids(list(self.peptide(design).residues))

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """Residue ids `[B, L]` (long), right-padded with :attr:`pad_id`; termini are not encoded."""
        return self.chain.encode([list(self.peptide(d).residues) for d in designs], length)

    def decode(self, ids: Tensor) -> list[str]:
        """Designs from ids `[B, L]` with the default termini; a row may decode to an invalid design.

        A row is cut at the first :attr:`pad_id`. Rows whose length is out of bounds are returned
        as they are, so callers can count and penalise them; use :meth:`is_valid` to check. The
        others are recorded as checked for :meth:`validate`: their monomers, termini and
        cyclisation come from this space by construction.
        """
        out = []
        pad, codes = self.pad_id, self.tokens
        lo, hi = self.min_length, self.max_length
        for row in ids.tolist():
            n = row.index(pad) if pad in row else len(row)
            if not n:
                out.append("")
                continue
            residues = tuple([codes[i] for i in row[:n]])
            if self.cyclisation == "always":
                pep = Peptide(residues, cyclic=True)
            else:
                pep = Peptide.from_checked(residues, self.n_caps[0], self.c_caps[0])
            remember(pep)
            out.append(pep.notation)
            if lo <= n <= hi:
                self._mark_checked(pep.notation, pep)
        return out

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        chains = self.chain.sample(n, rng)
        return [str(self._random_termini(tuple(c), rng)) for c in chains]

    def _random_termini(self, codes: tuple[str, ...], rng: np.random.Generator) -> Peptide:
        cyclic = self.cyclisation == "always" or (self.cyclisation == "optional" and len(codes) >= 2 and rng.random() < 0.5)
        if cyclic:
            return Peptide(codes, cyclic=True)
        return Peptide(
            codes, n_cap=self.n_caps[int(rng.integers(len(self.n_caps)))], c_cap=self.c_caps[int(rng.integers(len(self.c_caps)))]
        )

    def mutate(self, design: Any, rng: np.random.Generator) -> str:
        """A residue substitution/insertion/deletion, or (rarely) a change of cap or cyclisation."""
        pep = self.peptide(design)
        has_choice = self.cyclisation == "optional" or (not pep.cyclic and (len(self.n_caps) > 1 or len(self.c_caps) > 1))
        if has_choice and rng.random() < self.terminus_mutation_rate:
            for _ in range(16):
                alt = self._random_termini(pep.residues, rng)
                if alt != pep:
                    return str(alt)
        codes = tuple(self.chain.mutate(list(pep.residues), rng))
        return str(self._with_termini_of(pep, codes))

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> str:
        """Residue crossover of the chains; the child keeps the termini of ``a``."""
        pa, pb = self.peptide(a), self.peptide(b)
        codes = tuple(self.chain.crossover(list(pa.residues), list(pb.residues), rng))
        return str(self._with_termini_of(pa, codes))

    @staticmethod
    def _with_termini_of(pep: Peptide, codes: tuple[str, ...]) -> Peptide:
        if pep.cyclic:
            return Peptide(codes, cyclic=True) if len(codes) >= 2 else Peptide(codes)
        return Peptide(codes, n_cap=pep.n_cap, c_cap=pep.c_cap)


_SMILES_TOKEN = re.compile(r"%\d\d|\[[^\]]+\]|Br|Cl|[A-Za-z]|\d|[()=#\-+/\\.@*]")


def tokenize_smiles(smiles: str) -> list[str]:
    """Atom-level SMILES tokens: bracket atoms, two-letter halogens, ``%nn`` ring bonds, single characters.

    Raises:
        InvalidDesignError: if some character is not covered (the tokens would not rejoin to ``smiles``).
    """
    tokens = _SMILES_TOKEN.findall(smiles)
    if "".join(tokens) != smiles:
        raise InvalidDesignError(f"cannot tokenise the SMILES {smiles!r}; unsupported characters")
    return tokens


@lru_cache(maxsize=8)
def smiles_vocabulary(monomers: tuple[str, ...]) -> tuple[str, ...]:
    """Every SMILES token that canonical SMILES of peptides over ``monomers`` use, sorted.

    Collected from canonical SMILES of random peptides (lengths 1-12, all cap combinations and
    cyclic forms) so that canonical ring numbering up to 9 and every bracket atom are covered.
    """
    rng = np.random.default_rng(0)
    vocab: set[str] = set("()=123456789")
    for _ in range(400):
        n = int(rng.integers(1, 13))
        codes = tuple(monomers[i] for i in rng.integers(0, len(monomers), size=n))
        cyclic = n >= 2 and rng.random() < 0.3
        pep = (
            Peptide(codes, cyclic=True)
            if cyclic
            else Peptide(codes, n_cap=str(rng.choice(list(N_CAPS))), c_cap=str(rng.choice(list(C_CAPS))))
        )
        vocab.update(tokenize_smiles(peptide_to_smiles(pep)))
        vocab.update(tokenize_smiles(chain_smiles(pep)))
    return tuple(sorted(vocab))


class PeptideSmilesSpace(DesignSpace):
    """Peptides as SMILES strings, checked by decoding the backbone into residues.

    A design is admissible when :func:`~gendesign.plugins.peptides.smiles.smiles_to_peptide`
    decodes it and the residues, caps and cyclisation fit the wrapped :class:`PeptideSpace`. The
    canonical form and key are RDKit canonical isomeric SMILES. Variation operators decode to
    residues, vary them with the residue space's operators and re-encode.

    For SMILES-level generators the space has a token vocabulary (:attr:`tokens`: atom-level
    SMILES tokens of the monomer library) with :meth:`encode` / :meth:`decode`; decoded strings
    are returned even when they are not peptides, so a search can count and penalise them.

    Args:
        max_tokens: width of :meth:`encode`; SMILES with more tokens are inadmissible (checked
            before RDKit parses them).
        monomers, min_length, max_length, n_caps, c_caps, cyclisation, mutation_weights,
            terminus_mutation_rate: options of the residue-level :class:`PeptideSpace`.
    """

    def __init__(
        self,
        max_tokens: int = 400,
        monomers: str | list[str] = "canonical",
        min_length: int = 5,
        max_length: int = 30,
        n_caps: list[str] | None = None,
        c_caps: list[str] | None = None,
        cyclisation: Cyclisation = "none",
        mutation_weights: tuple[float, float, float] = (0.8, 0.1, 0.1),
        terminus_mutation_rate: float = 0.1,
    ) -> None:
        if not 8 <= max_tokens <= MAX_SMILES_TOKENS:
            raise ConfigError(f"max_tokens={max_tokens} must lie in 8..{MAX_SMILES_TOKENS} (below 8 no peptide SMILES fits)")
        self.residue_space = PeptideSpace(
            monomers=monomers,
            min_length=min_length,
            max_length=max_length,
            n_caps=n_caps,
            c_caps=c_caps,
            cyclisation=cyclisation,
            mutation_weights=mutation_weights,
            terminus_mutation_rate=terminus_mutation_rate,
        )
        self.max_tokens = int(max_tokens)
        self.tokens = list(smiles_vocabulary(self.residue_space.monomers))
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return len(self.tokens)

    @property
    def min_length(self) -> int:
        """Fewest SMILES tokens of a design (one: the admissible lengths are the residue space's)."""
        return 1

    @property
    def max_length(self) -> int:
        """Most SMILES tokens of a design: ``max_tokens``."""
        return self.max_tokens

    def config(self) -> dict[str, Any]:
        return {**super().config(), "max_tokens": self.max_tokens, "peptide": self.residue_space.config()}

    def peptide(self, design: Any) -> Peptide:
        """The residues of a SMILES design (strict decode plus the residue space's checks)."""
        if not isinstance(design, str):
            raise InvalidDesignError(f"a peptide_smiles design is a SMILES string, got {type(design).__name__} {design!r}")
        # RDKit stalls or crashes on huge strings; tokenising also refuses characters RDKit would skip.
        if len(design) > 8 * self.max_tokens or len(tokenize_smiles(design)) > self.max_tokens:
            raise InvalidDesignError(
                f"SMILES of {len(design)} characters ({design[:40]!r}...) has more than max_tokens={self.max_tokens} tokens; "
                "raise max_tokens to admit longer peptides"
            )
        return self.residue_space.peptide(smiles_to_peptide(design))

    def validate(self, design: Any) -> str:
        smiles = peptide_to_smiles(self.peptide(design))
        if len(tokenize_smiles(smiles)) > self.max_tokens:
            raise InvalidDesignError(f"SMILES of {self.peptide(design)} has more than max_tokens={self.max_tokens} tokens")
        return smiles

    def to_json(self, design: Any) -> str:
        return json.dumps(self.validate(design))

    def from_json(self, text: str) -> str:
        return self.validate(json.loads(text))

    def display(self, design: Any) -> str:
        return self.validate(design)

    def describe(self, design: Any) -> dict[str, Any]:
        pep = self.peptide(design)
        return {"sequence": str(pep), "length": len(pep)}

    def from_peptide(self, design: Any) -> str:
        """Canonical SMILES of a residue-level design."""
        return peptide_to_smiles(self.residue_space.peptide(design))

    def _fits(self, smiles: str) -> bool:
        return len(tokenize_smiles(smiles)) <= self.max_tokens

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` peptides of the residue space whose SMILES fit ``max_tokens`` (long ones are redrawn)."""
        out: list[str] = []
        for _ in range(_SAMPLE_ROUNDS):
            out += [s for s in (self.from_peptide(p) for p in self.residue_space.sample(n - len(out), rng)) if self._fits(s)]
            if len(out) == n:
                return out
        raise ConfigError(
            f"peptide_smiles: after {_SAMPLE_ROUNDS} rounds only {len(out)} of {n} sampled peptides fit max_tokens={self.max_tokens}; "
            f"raise max_tokens or lower max_length={self.residue_space.max_length}"
        )

    def mutate(self, design: Any, rng: np.random.Generator) -> str:
        """A residue-level mutant; the parent itself when the mutant's SMILES would not fit ``max_tokens``."""
        child = self.from_peptide(self.residue_space.mutate(self.peptide(design), rng))
        return child if self._fits(child) else self.validate(design)

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> str:
        """A residue-level child; parent ``a`` when the child's SMILES would not fit ``max_tokens``."""
        child = self.from_peptide(self.residue_space.crossover(self.peptide(a), self.peptide(b), rng))
        return child if self._fits(child) else self.validate(a)

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """SMILES token ids `[B, L]`, right-padded with :attr:`pad_id` (``L`` defaults to ``max_tokens``)."""
        width = self.max_tokens if length is None else length
        out = torch.full((len(designs), width), self.pad_id, dtype=torch.long)
        for i, d in enumerate(designs):
            toks = tokenize_smiles(d)
            unknown = [t for t in toks if t not in self.index]
            if unknown:
                raise InvalidDesignError(f"SMILES {d!r} uses tokens {unknown} outside this space's vocabulary")
            if len(toks) > width:
                raise InvalidDesignError(f"SMILES {d!r} has {len(toks)} tokens, more than {width}")
            out[i, : len(toks)] = torch.tensor([self.index[t] for t in toks], dtype=torch.long)
        return out

    def decode(self, ids: Tensor) -> list[str]:
        """Raw SMILES strings from ids `[B, L]`, cut at the first :attr:`pad_id`; not necessarily valid."""
        out = []
        for row in ids.tolist():
            toks = []
            for i in row:
                if i >= self.pad_id:
                    break
                toks.append(self.tokens[i])
            out.append("".join(toks))
        return out
