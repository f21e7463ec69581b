"""A molecule design space over SELFIES symbols: every symbol sequence decodes to a molecule.

A design is a molecule, stored and keyed as its RDKit canonical SMILES (the ``smiles`` space's
checks apply: it parses, sanitises and is one connected molecule). Inside, the space is a token
space over a fixed SELFIES alphabet (Krenn et al., "Self-referencing embedded strings (SELFIES): a
100% robust molecular string representation", Mach. Learn. Sci. Technol. 1, 045024, 2020): a
design's tokens are the symbols of ``selfies.encoder(canonical SMILES)``, ids are positions in the
alphabet, and ``pad_id = V``. :meth:`SelfiesSpace.decode` reads any id rows `[B, L]` through
``selfies.decoder`` and RDKit, so a token generator (MCTS over a masked diffusion model, the GFlowNet
sequence environment) always produces a molecule.

A design is admissible when SELFIES can write its canonical SMILES in ``min_length .. max_length``
symbols. Decoding is total but not injective: the decoder drops symbols that would break a valence
and lowers bond orders, so the canonical SELFIES of a decoded molecule is usually shorter than the
row it came from and may use symbols outside the alphabet (``[=Ring1]`` where the row had
``[Ring1]``); such a molecule is admissible, but :meth:`SelfiesSpace.ids` / :meth:`SelfiesSpace.encode`
raise for it, since it has no id row. A row that decodes to no atoms (all pad, or e.g. a lone
``[Ring1]``) gives the empty string, which is invalid.

The default alphabet and ``max_length`` are those of the SELFIES MDLM shipped in
``models/selfies_mdlm_small`` (:meth:`SelfiesSpace.default_generator`): the 62 symbols of
RDKit's packaged NCI set without salts, i.e. ``selfies.get_alphabet_from_selfies`` of that corpus,
most frequent first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.sequence_space import pad_token_ids
from gendesign.generators.tokenizers import SelfiesTokenizer
from gendesign.plugins.molecules.smiles import SmilesSpace, canonical_smiles, read_seed_file

SHIPPED_MODEL = "selfies_mdlm_small"
SHIPPED_MODELS = ("selfies_mdlm_small", "selfies_mdlm_moses")
"""The SELFIES MDLMs shipped under ``models/``: NCI (62 symbols, the default) and MOSES (drug-like, 26 symbols)."""


def shipped_model_path(model: str = SHIPPED_MODEL) -> Path:
    """Directory of a SELFIES MDLM (``config.json`` + ``model.safetensors``): a shipped name or a model directory."""
    if model in SHIPPED_MODELS:
        return Path(str(resources.files("gendesign.plugins.molecules") / "models" / model))
    path = Path(model)
    if not path.is_dir():
        raise ConfigError(f"SELFIES model {model!r} is neither a shipped model {list(SHIPPED_MODELS)} nor a model directory")
    return path


def shipped_model_config(model: str = SHIPPED_MODEL) -> dict[str, Any]:
    """A SELFIES MDLM's ``config.json`` (its tokenizer holds the alphabet)."""
    path = shipped_model_path(model) / "config.json"
    if not path.is_file():
        raise ConfigError(f"the SELFIES MDLM is missing at {path.parent}; reinstall gendesign or pass alphabet=[...]")
    config = dict(json.loads(path.read_text()))
    if config.get("tokenizer", {}).get("kind") != "selfies":
        raise ConfigError(f"the MDLM at {path.parent} is not a SELFIES model (tokenizer {config.get('tokenizer', {}).get('kind')!r})")
    return config


class SelfiesSpace(DesignSpace):
    """Molecules as canonical SMILES, generated and varied as SELFIES symbol sequences.

    Args:
        alphabet: SELFIES symbols (``"[C]"``, ``"[=O]"``, ``"[Ring1]"``, ...); a symbol's id is its
            position. Default: the shipped model's alphabet.
        min_length: fewest symbols of an admissible design.
        max_length: most symbols of an admissible design; default: the shipped model's width (64).
        max_heavy_atoms: designs with more heavy atoms are invalid (``None``: no limit).
        pool: SMILES file that :meth:`sample` draws from (admissible lines only); default RDKit's
            packaged NCI set.
        max_tries: attempts per mutation/crossover before returning the parent unchanged.
        model: the SELFIES MDLM that supplies the default alphabet, ``max_length`` and
            :meth:`default_generator`: a shipped name (``"selfies_mdlm_small"``, trained on NCI, or
            ``"selfies_mdlm_moses"``, trained on MOSES) or a model directory.
        initial_designs_file: a SMILES file of seed molecules that strategies propose first; lines
            that are not admissible here (unparsable, too many SELFIES symbols) are skipped with a
            warning naming each line's number, value and reason; no valid line is a :class:`ConfigError`.
    """

    report_extensions = ("molecules",)

    def __init__(
        self,
        alphabet: Sequence[str] | None = None,
        min_length: int = 1,
        max_length: int | None = None,
        max_heavy_atoms: int | None = None,
        pool: str | None = None,
        max_tries: int = 32,
        model: str = SHIPPED_MODEL,
        initial_designs_file: str | None = None,
    ) -> None:
        self.model = str(model)
        if alphabet is None or max_length is None:
            shipped = shipped_model_config(self.model)
            alphabet = shipped["tokenizer"]["tokens"] if alphabet is None else alphabet
            max_length = int(shipped["max_length"]) if max_length is None else max_length
        if not 1 <= min_length <= max_length:
            raise ConfigError(f"need 1 <= min_length <= max_length, got min_length={min_length}, max_length={max_length}")
        if max_tries < 1:
            raise ConfigError(f"max_tries={max_tries} must be >= 1")
        self.tokenizer = SelfiesTokenizer(list(alphabet))
        self.smiles = SmilesSpace(pool=pool, max_heavy_atoms=max_heavy_atoms)
        self.min_length = int(min_length)
        self.max_length = int(max_length)
        self.max_tries = max_tries
        self._symbols: dict[str, list[str]] = {}
        self._pool: list[str] | None = None
        self.initial_designs_file = str(initial_designs_file) if initial_designs_file is not None else None
        self._seeds = read_seed_file(self.initial_designs_file, self.validate)

    def initial_designs(self) -> list[str]:
        """The admissible molecules of ``initial_designs_file`` (canonical, duplicates dropped, file order)."""
        return list(self._seeds)

    @property
    def tokens(self) -> list[str]:
        """The SELFIES alphabet; a token id is a position in this list."""
        return self.tokenizer.tokens

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_id

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "alphabet": list(self.tokens),
            "min_length": self.min_length,
            "max_length": self.max_length,
            "max_heavy_atoms": self.smiles.max_heavy_atoms,
            "pool": self.smiles.pool_path,
            "model": self.model,
            **({"initial_designs_file": self.initial_designs_file} if self.initial_designs_file else {}),
        }

    def _checked(self, design: Any) -> tuple[str, list[str]]:
        """Canonical SMILES and SELFIES symbols of ``design`` after every check."""
        smiles = self.smiles.validate(design)
        symbols = self._symbols.get(smiles)
        if symbols is None:
            symbols = self.tokenizer.tokenize(smiles)
            if len(self._symbols) >= 1 << 16:
                self._symbols.clear()
            self._symbols[smiles] = symbols
        if not self.min_length <= len(symbols) <= self.max_length:
            raise InvalidDesignError(
                f"molecule {smiles!r} has {len(symbols)} SELFIES symbols; this space needs {self.min_length} to {self.max_length}"
            )
        return smiles, symbols

    def validate(self, design: Any) -> str:
        return self._checked(design)[0]

    def key(self, design: Any) -> str:
        return self.validate(design)

    def to_json(self, design: Any) -> str:
        return json.dumps(self.validate(design))

    def from_json(self, text: str) -> str:
        return self.validate(json.loads(text))

    def display(self, design: Any) -> str:
        return design if isinstance(design, str) else repr(design)

    def describe(self, design: Any) -> dict[str, Any]:
        return {"selfies": "".join(self._checked(design)[1])}

    def ids(self, design: Any) -> list[int]:
        """SELFIES ids of ``design``'s canonical SMILES.

        Raises:
            InvalidDesignError: also for an admissible molecule whose canonical SELFIES uses a
                symbol outside the alphabet (it has no id row).
        """
        smiles, symbols = self._checked(design)
        index = self.tokenizer.index
        missing = sorted({t for t in symbols if t not in index})
        if missing:
            raise InvalidDesignError(
                f"molecule {smiles!r} is written with SELFIES symbols {missing} outside this space's alphabet of "
                f"{self.vocab_size}; it is admissible but has no token ids"
            )
        return [index[t] for t in symbols]

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """Ids `[B, L]` (long) of the designs' canonical SELFIES, right-padded with :attr:`pad_id`."""
        return pad_token_ids([self.ids(d) for d in designs], self.pad_id, length, designs)

    def decode(self, ids: Tensor) -> list[str]:
        """Canonical SMILES of id rows `[B, L]`: pads are dropped, the symbols decoded by ``selfies``.

        A row without atoms gives ``""`` (invalid); a mask or out-of-range id raises
        :class:`InvalidDesignError`.
        """
        return [canonical_smiles(s) or "" for s in self.tokenizer.decode(ids)]

    def _encodable(self, design: str) -> bool:
        try:
            self.ids(design)
        except InvalidDesignError:
            return False
        return True

    def pool(self) -> list[str]:
        """The admissible molecules of the sampling pool that the alphabet can write (loaded once)."""
        if self._pool is None:
            self._pool = [s for s in self.smiles.pool() if self._encodable(s)]
            if not self._pool:
                raise ConfigError(
                    f"no molecule of the pool {self.smiles.pool_path or 'NCI'} fits this space's alphabet and length range"
                )
        return self._pool

    def feature_encoder(self) -> Any:
        """Morgan fingerprints (radius 2, 2048 bits) read with a Tanimoto kernel by the ``bo`` strategy."""
        from gendesign.plugins.molecules.fingerprints import MorganFingerprints

        return MorganFingerprints()

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        pool = self.pool()
        return [pool[i] for i in rng.integers(0, len(pool), size=n)]

    def _child(self, symbols: list[str], parents: tuple[str, ...]) -> str | None:
        """The admissible canonical SMILES that ``symbols`` decode to, if it differs from the parents."""
        child = canonical_smiles(self.tokenizer.join(symbols)) if symbols else None
        if child is None or child in parents or not self.is_valid(child):
            return None
        return child

    def mutate(self, design: Any, rng: np.random.Generator) -> str:
        """One symbol substituted, inserted or deleted (uniform over the moves the length bounds allow), decoded.

        New symbols come from the alphabet. Retried up to ``max_tries`` times until the molecule
        changes; otherwise the parent.
        """
        parent, symbols = self._checked(design)
        for _ in range(self.max_tries):
            moves = (
                ["sub"]
                + (["ins"] if len(symbols) < self.max_length else [])
                + (["del"] if len(symbols) > self.min_length else [])
            )
            move = moves[int(rng.integers(len(moves)))]
            pos = int(rng.integers(len(symbols) + (move == "ins")))
            token = self.tokens[int(rng.integers(self.vocab_size))]
            if move == "sub":
                new = symbols[:pos] + [token] + symbols[pos + 1 :]
            elif move == "ins":
                new = symbols[:pos] + [token] + symbols[pos:]
            else:
                new = symbols[:pos] + symbols[pos + 1 :]
            child = self._child(new, (parent,))
            if child is not None:
                return child
        return parent

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> str:
        """One-point crossover of the SELFIES symbols: a prefix of ``a`` then a suffix of ``b``, decoded.

        Retried up to ``max_tries`` times until the child differs from both parents; otherwise ``a``.
        """
        (pa, sa), (pb, sb) = self._checked(a), self._checked(b)
        for _ in range(self.max_tries):
            cut_a, cut_b = int(rng.integers(1, len(sa) + 1)), int(rng.integers(0, len(sb)))
            child = self._child((sa[:cut_a] + sb[cut_b:])[: self.max_length], (pa, pb))
            if child is not None:
                return child
        return pa

    def default_generator(self) -> GeneratorSpec:
        """The space's SELFIES MDLM (``{name = "mdlm", path = <package data>}``), used by model-backed strategies such as ``mcts``.

        Raises:
            ConfigError: if this space's alphabet differs from the model's; train a model on this
                alphabet (``examples/mdlm_selfies_small.toml`` shows how) and name it with
                ``generator = { name = "mdlm", path = ... }`` in the strategy's options.
        """
        tokens = shipped_model_config(self.model)["tokenizer"]["tokens"]
        if tokens != self.tokens:
            raise ConfigError(
                f"the SELFIES MDLM {self.model!r} reads {len(tokens)} symbols but this space's alphabet has {self.vocab_size} "
                f"({self.tokens[:5]}...); use the default alphabet or give the strategy a generator trained on this one"
            )
        return GeneratorSpec(name="mdlm", path=str(shipped_model_path(self.model)))
