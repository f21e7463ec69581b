"""A corpus file tokenised for training: one design per line, split into training and validation ids."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.generators.mdlm.train_config import DataOptions, resolve_corpus_path
from gendesign.generators.tokenizers import ResidueTokenizer, SelfiesTokenizer, SmilesTokenizer, Tokenizer

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem


def read_corpus(path: str | Path, limit: int | None = None, header: bool = False) -> list[str]:
    """Designs of a corpus file: stripped non-empty lines that do not start with ``#``.

    A line ``SMILES<whitespace>name`` (``.smi`` style) keeps only its first field, and so does a
    line ``SMILES,rest`` (``.csv`` style). A name ending in ``.gz`` is read through gzip;
    ``header=True`` skips the first line (a CSV column header).
    """
    p = resolve_corpus_path(path)
    out = []
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt") as fh:
        if header:
            next(fh, None)
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            out.append(line.split()[0].split(",")[0])
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise ConfigError(f"corpus file {str(p)!r} holds no designs")
    return out


def build_space(spec: dict[str, Any], plugins: PluginSystem | None) -> Any:
    """A design space registered with ``plugins``, from ``{name=..., options={...}}``."""
    unknown = sorted(set(spec) - {"name", "options"})
    if "name" not in spec or unknown:
        raise ConfigError(f"space must be {{name=..., options={{...}}}}, got keys {sorted(spec)}")
    if plugins is None:
        raise ConfigError(
            f"space = {spec!r} names a registered design space but no plugin system was given; "
            "pass plugins= (e.g. gendesign.get_plugins()) or drop the space"
        )
    return plugins.spaces.build(spec["name"], spec.get("options", {}))


def build_tokenizer(options: DataOptions, designs: Sequence[str], space: Any | None) -> Tokenizer:
    """The tokenizer the data options ask for (SMILES vocabularies are fitted to ``designs``)."""
    if options.tokenizer == "smiles":
        return SmilesTokenizer.fit(designs)
    if options.tokenizer == "selfies":
        return SelfiesTokenizer.fit(designs)
    if options.alphabet is not None:
        return ResidueTokenizer(list(options.alphabet), options.separator)
    if space is None or not hasattr(space, "tokens"):
        raise ConfigError(f"tokenizer='residue' needs a space with tokens (a sequence space), got {type(space).__name__}")
    return ResidueTokenizer.from_space(space)


class CorpusData:
    """Tokenised corpus split into training and validation ids.

    Attributes:
        tokenizer: the tokenizer used.
        train_ids, val_ids: lists of id lists.
        max_length: model width in tokens.
        dropped: counts of designs dropped (``{"invalid": n, "too_long": m, "untokenizable": k}``).

    Args:
        options: the ``[data]`` table.
        plugins: the plugin system that builds ``options.space``; needed only when a space is named.
    """

    def __init__(self, options: DataOptions, plugins: PluginSystem | None = None) -> None:
        designs = read_corpus(options.corpus, options.limit, options.header)
        space = build_space(options.space, plugins) if options.space is not None else None
        self.dropped = {"invalid": 0, "too_long": 0, "untokenizable": 0}
        if options.validate_designs:
            kept = [d for d in designs if space.is_valid(d)]
            self.dropped["invalid"] = len(designs) - len(kept)
            designs = kept
        self.tokenizer = build_tokenizer(options, designs, space)
        rows = []
        kept_designs = []
        for line_no, d in enumerate(designs, start=1):
            try:
                rows.append(self.tokenizer.ids(d))
                kept_designs.append(d)
            except InvalidDesignError as exc:
                if not options.drop_untokenizable:
                    raise ConfigError(
                        f"{options.corpus}: design {line_no} ({d!r}) cannot be tokenised: {exc}; fix the line or set drop_untokenizable = true"
                    ) from None
                self.dropped["untokenizable"] += 1
        designs = kept_designs
        longest = max(len(r) for r in rows)
        self.max_length = options.max_length or longest
        if longest > self.max_length:
            if not options.drop_longer:
                worst = max(range(len(rows)), key=lambda i: len(rows[i]))
                raise ConfigError(
                    f"{options.corpus}: design {designs[worst]!r} has {len(rows[worst])} tokens > max_length={self.max_length}; "
                    "raise max_length or set drop_longer=true"
                )
            kept_rows = [r for r in rows if len(r) <= self.max_length]
            self.dropped["too_long"] = len(rows) - len(kept_rows)
            rows = kept_rows
        if any(len(r) == 0 for r in rows):
            raise ConfigError(f"{options.corpus}: a design has zero tokens")
        order = np.random.default_rng(options.seed).permutation(len(rows))
        n_val = int(round(options.val_fraction * len(rows)))
        if options.val_fraction > 0 and n_val == 0 and len(rows) > 1:
            n_val = 1
        self.val_ids = [rows[i] for i in order[:n_val]]
        self.train_ids = [rows[i] for i in order[n_val:]]
        if not self.train_ids:
            raise ConfigError(f"{options.corpus}: no training designs left after a validation split of {n_val}")
        self.num_designs = len(rows)


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> Tensor:
    """Right-pad id lists to `[B, max length]`."""
    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
    return out
