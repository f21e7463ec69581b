"""A corpus of bad (and a few good) inputs, and the rule that classifies what gendesign does with each.

Three kinds of case:

* ``config``: a TOML campaign file, run through ``validate_config`` (what ``gendesign validate``
  and ``gendesign run`` load and build);
* ``python``: keyword arguments of :func:`gendesign.optimize` (the Python path);
* ``design``: one design given to a built-in space's ``validate``;
* ``output``: what a :class:`FunctionObjective`'s function returns for a batch of two designs.

Each case expects either an error (a :class:`GendesignError` on one line whose message contains
every string in ``names``; for outputs, every item invalid with an error naming the objective) or
a documented acceptance (for designs, optionally the canonical form). :func:`classify` maps what
happened to one of :data:`OUTCOMES`. ``tests/test_fuzz_inputs.py`` demands a good outcome for
every case; ``benchmarks/fuzz_inputs.py`` tabulates the outcomes.
"""

from __future__ import annotations

import math
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTCOMES = ("clear error", "accepted as documented", "unclear error", "traceback", "hang", "garbage accepted", "valid rejected")
GOOD = ("clear error", "accepted as documented")
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Case:
    """One fuzz input: its kind, payload, and what a correct program does with it."""

    id: str
    kind: str
    payload: Any
    expect: str = "error"
    names: tuple[str, ...] = ()
    value: Any = None
    isolate: bool = False
    """Run in a subprocess when measuring old code: it may crash the interpreter or block signals."""


# --------------------------------------------------------------------------- configs

EHRLICH = 'name = "ehrlich"\noptions = { num_states = 4, length = 8, num_motifs = 2, motif_length = 2 }'
CAMPAIGN = {"budget": "16", "batch_size": "8", "seed": "0", "max_rounds": "4", "progress": "false", "plots": "false"}


def toml(campaign: dict[str, str] | None = None, space: str | None = None, objective: str = EHRLICH, strategy: str = 'name = "random"', extra: str = "") -> str:
    """A campaign file: ``campaign`` overrides keys of the small default ``[campaign]`` table."""
    table = {**CAMPAIGN, **(campaign or {})}
    lines = ["[campaign]", *(f"{k} = {v}" for k, v in table.items() if v is not None)]
    if space is not None:
        lines += ["", "[space]", space]
    lines += ["", "[[objectives]]", objective, "", "[strategy]", strategy]
    return "\n".join(lines) + "\n" + extra


def _config_cases() -> Iterator[Case]:
    yield Case("config/base-ehrlich", "config", toml(), "ok")
    bad_numbers = {
        "true": ("true", "bool"),
        "string": ('"8"', "str"),
        "fraction": ("2.5", "fraction"),
        "negative": ("-1", "neg"),
        "zero": ("0", "zero"),
        "nan": ("nan", "nan"),
        "inf": ("inf", "inf"),
        "huge": ("1e18", "huge"),
        "list": ("[1, 2]", "list"),
        "table": ("{ a = 1 }", "table"),
        "2^64": (str(2**64), "big"),
    }
    int_fields = {
        "budget": {"zero", "negative", "huge"},
        "batch_size": {"zero", "negative", "huge"},
        "seed": {"negative", "2^64"},
        "max_rounds": {"zero", "negative"},
        "patience_rounds": {"zero", "negative"},
        "workers": {"zero", "negative", "huge"},
    }
    for field_name, rejected_extra in int_fields.items():
        for label, (text, _) in bad_numbers.items():
            if label in ("zero", "negative", "huge", "2^64") and label not in rejected_extra:
                continue
            if field_name == "seed" and label == "zero":
                continue
            yield Case(f"config/campaign.{field_name}={label}", "config", toml({field_name: text}), names=(field_name,))
    yield Case("config/campaign.seed=2^32-1", "config", toml({"seed": str(2**32 - 1)}), "ok")
    yield Case("config/campaign.budget=1e2", "config", toml({"budget": "1e2"}), "ok")
    for field_name in ("progress", "plots"):
        for label, text in (("int", "1"), ("string", '"yes"'), ("list", "[true]")):
            yield Case(f"config/campaign.{field_name}={label}", "config", toml({field_name: text}), names=(field_name,))
    for field_name, text in (("device", '"tpu"'), ("device", "1"), ("executor", '"threads"'), ("run_dir", "5"), ("ledger", "[1]")):
        yield Case(f"config/campaign.{field_name}={text}", "config", toml({field_name: text}), names=(field_name,))
    yield Case("config/campaign.unknown-key", "config", toml({"budgte": "10"}), names=("budgte",))

    # Ehrlich options (objective built from a signature with string annotations)
    ehrlich_fields = {"num_states": "4", "length": "8", "num_motifs": "2", "motif_length": "2"}
    for field_name in ehrlich_fields:
        for label, text in (("true", "true"), ("string", '"4"'), ("fraction", "2.5"), ("zero", "0"), ("huge", "1e18"), ("nan", "nan")):
            opts = {**ehrlich_fields, field_name: text}
            body = ", ".join(f"{k} = {v}" for k, v in opts.items())
            yield Case(f"config/ehrlich.{field_name}={label}", "config", toml(objective=f'name = "ehrlich"\noptions = {{ {body} }}'), names=(field_name,))
    for field_name, text in (("epistasis", "2.0"), ("epistasis", "nan"), ("epistasis", '"x"'), ("quantization", "9"), ("random_seed", "true"), ("objectives", '"all"')):
        yield Case(
            f"config/ehrlich.{field_name}={text}",
            "config",
            toml(objective=f'name = "ehrlich"\noptions = {{ num_states = 4, length = 8, num_motifs = 2, motif_length = 2, {field_name} = {text} }}'),
            names=(field_name,),
        )

    # sequence space options
    seq = 'name = "sequence"\noptions = {{ {} }}'
    seq_cases = {
        "length=true": ('alphabet = "ABCD", length = true', "length"),
        "length=2.5": ('alphabet = "ABCD", length = 2.5', "length"),
        "length=string": ('alphabet = "ABCD", length = "8"', "length"),
        "length=0": ('alphabet = "ABCD", length = 0', "length"),
        "length=-3": ('alphabet = "ABCD", length = -3', "length"),
        "length=1e18": ('alphabet = "ABCD", length = 1e18', "length"),
        "length=inf": ('alphabet = "ABCD", length = inf', "length"),
        "alphabet=empty": ('alphabet = "", length = 8', "alphabet"),
        "alphabet=dup": ('alphabet = "AAB", length = 8', "alphabet"),
        "alphabet=int": ("alphabet = 5, length = 8", "alphabet"),
        "alphabet=mixed": ('alphabet = ["A", 1], length = 8', "alphabet"),
        "min>max": ('alphabet = "ABCD", min_length = 9, max_length = 8', "min_length"),
        "length+max": ('alphabet = "ABCD", length = 8, max_length = 8', "length"),
        "no-length": ('alphabet = "ABCD"', "length"),
        "mutation_weights=strings": ('alphabet = "ABCD", length = 8, mutation_weights = ["a", "b", "c"]', "mutation_weights"),
        "mutation_weights=negative": ('alphabet = "ABCD", length = 8, mutation_weights = [-1, 0, 0]', "mutation_weights"),
        "mutation_weights=bools": ('alphabet = "ABCD", length = 8, mutation_weights = [true, false, false]', "mutation_weights"),
        "separator=int": ('alphabet = "ABCD", length = 8, separator = 1', "separator"),
        "unknown": ('alphabet = "ABCD", length = 8, lenght = 3', "lenght"),
    }
    for label, (opts, name) in seq_cases.items():
        yield Case(f"config/sequence.{label}", "config", toml(space=seq.format(opts)), names=(name,))
    yield Case("config/sequence-fits-ehrlich", "config", toml(space=seq.format('alphabet = "ABCD", length = 8')), "ok")
    for label, opts in (("length15-vs-16", 'alphabet = "ABCD", length = 7'), ("alphabet-mismatch", 'alphabet = "ACGT", length = 8'), ("variable-length", 'alphabet = "ABCD", min_length = 4, max_length = 8')):
        yield Case(f"config/sequence-vs-ehrlich.{label}", "config", toml(space=seq.format(opts)), names=("ehrlich", "space"))

    # box space with a BoTorch problem
    box = 'name = "box"\noptions = {{ bounds = {} }}'
    bc = 'name = "branin_currin"'
    yield Case("config/box-fits-branin_currin", "config", toml(space=box.format("[[0, 1], [0, 1]]"), objective=bc), "ok")
    yield Case("config/branin_currin-no-space", "config", toml(objective=bc), "ok")
    for label, bounds in {
        "inf": "[[0, inf], [0, 1]]",
        "nan": "[[nan, 1], [0, 1]]",
        "reversed": "[[1, 0], [0, 1]]",
        "flat": "[0, 1]",
        "empty": "[]",
        "strings": '[["0", "1"], ["0", "1"]]',
        "bools": "[[false, true], [false, true]]",
        "ragged": "[[0, 1], [0]]",
    }.items():
        yield Case(f"config/box.bounds={label}", "config", toml(space=box.format(bounds), objective=bc), names=("bounds",))
    yield Case("config/box-vs-branin_currin.3d", "config", toml(space=box.format("[[0, 1], [0, 1], [0, 1]]"), objective=bc), names=("space",))
    yield Case("config/box-vs-branin_currin.wider", "config", toml(space=box.format("[[-5, 5], [-5, 5]]"), objective=bc), names=("space",))
    for field_name, text in (("mutation_scale", "0"), ("mutation_scale", "inf"), ("eta", "-1"), ("decimals", "2.5"), ("decimals", "true")):
        yield Case(f"config/box.{field_name}={text}", "config", toml(space=f'name = "box"\noptions = {{ bounds = [[0, 1], [0, 1]], {field_name} = {text} }}', objective=bc), names=(field_name,))

    # per-objective directions, columns and transforms; with and without [space]
    for with_space in (False, True):
        space = seq.format('alphabet = "ABCD", length = 8') if with_space else None
        tag = "space" if with_space else "nospace"
        yield Case(f"config/{tag}.directions", "config", toml(space=space, objective=EHRLICH + '\ndirections = ["min"]'), "ok")
        yield Case(f"config/{tag}.columns-bounds", "config", toml(space=space, objective=EHRLICH + "\ncolumns = { ehrlich = { bounds = [0, 1] } }"), "ok")
        yield Case(f"config/{tag}.transforms", "config", toml(space=space, objective=EHRLICH + '\ntransforms = { ehrlich = { kind = "ramp", low = 0.2, high = 0.8 } }'), "ok")
        yield Case(f"config/{tag}.constraint", "config", toml(space=space, objective=EHRLICH + '\ncolumns = { ehrlich = { kind = "constraint", threshold = 0.5 } }'), "ok")
        yield Case(f"config/{tag}.rename", "config", toml(space=space, objective=EHRLICH + '\ncolumns = { ehrlich = { name = "score" } }'), "ok")
    columns_bad = {
        "threshold=nan": ('{ ehrlich = { kind = "constraint", threshold = nan } }', "threshold"),
        "threshold=inf": ('{ ehrlich = { kind = "constraint", threshold = inf } }', "threshold"),
        "threshold=string": ('{ ehrlich = { kind = "constraint", threshold = "high" } }', "threshold"),
        "threshold=bool": ('{ ehrlich = { kind = "constraint", threshold = true } }', "threshold"),
        "threshold=list": ('{ ehrlich = { kind = "constraint", threshold = [1] } }', "threshold"),
        "constraint-no-threshold": ('{ ehrlich = { kind = "constraint" } }', "threshold"),
        "bounds=inf": ("{ ehrlich = { bounds = [0, inf] } }", "bounds"),
        "bounds=nan": ("{ ehrlich = { bounds = [nan, 1] } }", "bounds"),
        "bounds=reversed": ("{ ehrlich = { bounds = [1, 0] } }", "bounds"),
        "bounds=three": ("{ ehrlich = { bounds = [0, 1, 2] } }", "bounds"),
        "bounds=strings": ('{ ehrlich = { bounds = ["0", "1"] } }', "bounds"),
        "bounds=scalar": ("{ ehrlich = { bounds = 1 } }", "bounds"),
        "direction=up": ('{ ehrlich = { direction = "up" } }', "direction"),
        "kind=soft": ('{ ehrlich = { kind = "soft" } }', "kind"),
        "unknown-column": ("{ f = { bounds = [0, 1] } }", "f"),
        "unknown-field": ("{ ehrlich = { weight = 2 } }", "weight"),
        "name=int": ("{ ehrlich = { name = 3 } }", "name"),
    }
    for label, (cols, name) in columns_bad.items():
        yield Case(f"config/columns.{label}", "config", toml(objective=EHRLICH + f"\ncolumns = {cols}"), names=(name,))
        yield Case(f"config/space.columns.{label}", "config", toml(space=seq.format('alphabet = "ABCD", length = 8'), objective=EHRLICH + f"\ncolumns = {cols}"), names=(name,))
    transforms_bad = {
        "unknown-kind": ('{ ehrlich = { kind = "wiggle" } }', "wiggle"),
        "no-kind": ("{ ehrlich = { low = 1 } }", "kind"),
        "ramp-low=string": ('{ ehrlich = { kind = "ramp", low = "a", high = 1 } }', "low"),
        "ramp-high=nan": ('{ ehrlich = { kind = "ramp", low = 0, high = nan } }', "high"),
        "ramp-extra": ('{ ehrlich = { kind = "ramp", low = 0, high = 1, slope = 2 } }', "slope"),
        "unknown-column": ('{ f = { kind = "negate" } }', "f"),
    }
    for label, (tr, name) in transforms_bad.items():
        yield Case(f"config/transforms.{label}", "config", toml(objective=EHRLICH + f"\ntransforms = {tr}"), names=(name,))
    for label, text in (("two", '["max", "min"]'), ("word", '["up"]'), ("empty", "[]"), ("string", '"max"')):
        yield Case(f"config/directions={label}", "config", toml(objective=EHRLICH + f"\ndirections = {text}"), names=("directions",))

    # strategies
    for label, opts, name in (
        ("population_size=1", "population_size = 1", "population_size"),
        ("population_size=true", "population_size = true", "population_size"),
        ("population_size=1e18", "population_size = 1e18", "population_size"),
        ("population_size=string", 'population_size = "64"', "population_size"),
        ("tournament_size=0", "tournament_size = 0", "tournament_size"),
        ("mean_mutations=nan", "mean_mutations = nan", "mean_mutations"),
        ("mean_mutations=inf", "mean_mutations = inf", "mean_mutations"),
        ("unknown", "populaton_size = 8", "populaton_size"),
    ):
        yield Case(f"config/evolution.{label}", "config", toml(strategy=f'name = "evolution"\noptions = {{ {opts} }}'), names=(name,))
    yield Case("config/evolution.ok", "config", toml(strategy='name = "evolution"\noptions = { population_size = 8 }'), "ok")
    for label, opts, name in (("max_tries=0", "max_tries = 0", "max_tries"), ("max_tries=2.5", "max_tries = 2.5", "max_tries"), ("initial_designs=bad", 'initial_designs = ["ZZZZZZZZ"]', "ZZZZZZZZ")):
        yield Case(f"config/random.{label}", "config", toml(strategy=f'name = "random"\noptions = {{ {opts} }}'), names=(name,))
    grid = 'name = "hypergrid"\noptions = { ndim = 2, height = 4 }'
    yield Case("config/gflownet.ok", "config", toml(objective=grid, strategy='name = "gflownet"\noptions = { hidden = 16, train_steps = 1 }'), "ok")
    for label, opts, name in (
        ("train_steps=1e18", "train_steps = 1e18", "train_steps"),
        ("train_steps=0", "train_steps = 0", "train_steps"),
        ("train_batch_size=1e18", "train_batch_size = 1e18", "train_batch_size"),
        ("lr=inf", "lr = inf", "lr"),
        ("lr=nan", "lr = nan", "lr"),
        ("lr=0", "lr = 0", "lr"),
        ("lr=string", 'lr = "fast"', "lr"),
        ("hidden=1e18", "hidden = 1e18", "hidden"),
        ("hidden=true", "hidden = true", "hidden"),
        ("epsilon=2", "epsilon = 2", "epsilon"),
        ("temperature=inf", "temperature = inf", "temperature"),
        ("loss=l2", 'loss = "l2"', "loss"),
        ("replay_fraction=1", "replay_fraction = 1", "replay_fraction"),
        ("grad_clip=nan", "grad_clip = nan", "grad_clip"),
        ("learned_backward=1", "learned_backward = 1", "learned_backward"),
    ):
        yield Case(f"config/gflownet.{label}", "config", toml(objective=grid, strategy=f'name = "gflownet"\noptions = {{ {opts} }}'), names=(name,))
    for label, opts, name in (("ndim=1e18", "ndim = 1e18, height = 4", "ndim"), ("height=true", "ndim = 2, height = true", "height"), ("height=1", "ndim = 2, height = 1", "height"), ("r0=nan", "r0 = nan", "r0")):
        yield Case(f"config/hypergrid.{label}", "config", toml(objective=f'name = "hypergrid"\noptions = {{ {opts} }}'), names=(name,))

    # peptide spaces and objectives (docs/peptides.md, docs/campaigns.md)
    desc = 'name = "peptide_descriptors"\noptions = { descriptors = ["hydrophobic_moment", "tpsa"] }'
    yield Case("config/peptide+descriptors", "config", toml(space='name = "peptide"\noptions = { min_length = 5, max_length = 12 }', objective=desc), "ok")
    yield Case(
        "config/docs-tpsa-constraint",
        "config",
        toml(space='name = "peptide"', objective=desc + '\ncolumns = { tpsa = { kind = "constraint", direction = "min", threshold = 400 } }'),
        "ok",
    )
    yield Case("config/peptide_smiles-default", "config", toml(space='name = "peptide_smiles"', objective=desc), "ok")
    yield Case(
        "config/peptide_smiles-options",
        "config",
        toml(space='name = "peptide_smiles"\noptions = { monomers = "canonical", min_length = 2, max_length = 8, max_tokens = 300, cyclisation = "optional" }', objective=desc),
        "ok",
    )
    for label, opts, name in (
        ("max_tokens=4", "max_tokens = 4", "max_tokens"),
        ("max_tokens=1e18", "max_tokens = 1e18", "max_tokens"),
        ("cyclisation=maybe", 'cyclisation = "maybe"', "cyclisation"),
        ("monomers=unknown", 'monomers = ["Zzz"]', "Zzz"),
        ("unknown", "lenght = 3", "lenght"),
    ):
        yield Case(f"config/peptide_smiles.{label}", "config", toml(space=f'name = "peptide_smiles"\noptions = {{ {opts} }}', objective=desc), names=(name,))
    for label, opts, name in (
        ("min_length=true", "min_length = true", "min_length"),
        ("max_length=2.5", "max_length = 2.5", "max_length"),
        ("max_length=1e18", "max_length = 1e18", "max_length"),
        ("n_caps=bad", 'n_caps = ["Xx"]', "n_caps"),
        ("c_caps=int", "c_caps = [1]", "c_caps"),
        ("terminus_mutation_rate=2", "terminus_mutation_rate = 2", "terminus_mutation_rate"),
    ):
        yield Case(f"config/peptide.{label}", "config", toml(space=f'name = "peptide"\noptions = {{ {opts} }}', objective=desc), names=(name,))
    yield Case("config/descriptors.unknown", "config", toml(space='name = "peptide"', objective='name = "peptide_descriptors"\noptions = { descriptors = ["charm"] }'), names=("charm",))

    # structure
    yield Case("config/no-objectives", "config", toml().split("[[objectives]]")[0], names=("objectives",))
    yield Case("config/unknown-section", "config", toml(extra="\n[extras]\na = 1\n"), names=("extras",))
    yield Case("config/objective-and-objectives", "config", toml(extra=f"\n[objective]\n{EHRLICH}\n"), names=("objective",))
    yield Case("config/unknown-objective", "config", toml(objective='name = "erlich"'), names=("erlich", "ehrlich"))
    yield Case("config/unknown-space", "config", toml(space='name = "sequense"'), names=("sequense",))
    yield Case("config/unknown-strategy", "config", toml(strategy='name = "annealing"'), names=("annealing",))
    yield Case("config/name=int", "config", toml(objective="name = 3"), names=("name",))
    yield Case("config/options=list", "config", toml(objective='name = "ehrlich"\noptions = [1, 2]'), names=("options",))
    yield Case("config/syntax-error", "config", toml() + "\n[campaign\n", names=("TOML",))
    yield Case("config/duplicate-key", "config", toml({"budget": "16"}) + "\n[campaign]\nseed = 1\n", names=("TOML",))
    yield Case("config/not-utf8", "config", b"[campaign]\nbudget = \xff\n", names=("UTF-8",))
    yield Case("config/huge-file", "config", toml() + "#" + "x" * (2 << 20) + "\n", names=("bytes", "limit"))
    yield Case(
        "config/huge-initial-design",
        "config",
        toml(strategy='name = "random"\noptions = { initial_designs = ["' + "A" * 200_000 + '"] }'),
        names=("max_length",),
    )
    yield Case("config/space-without-objective-space", "config", toml(objective=desc), names=("space",))
    yield Case("config/duplicate-columns", "config", toml(extra=f"\n[[objectives]]\n{EHRLICH}\n"), names=("ehrlich",))


# --------------------------------------------------------------------------- designs

SPACES: dict[str, tuple[str, dict[str, Any]]] = {
    "sequence": ("sequence", {"alphabet": "ACGT", "length": 6}),
    "tokens": ("sequence", {"alphabet": ["A", "dA", "Orn"], "min_length": 1, "max_length": 4, "separator": " "}),
    "box": ("box", {"bounds": [[0, 1], [0, 1]]}),
    "smiles": ("smiles", {}),
    "peptide": ("peptide", {"min_length": 2, "max_length": 10, "n_caps": ["H", "Ac"], "c_caps": ["OH", "NH2"], "cyclisation": "optional"}),
    "peptide_smiles": ("peptide_smiles", {"monomers": "canonical", "min_length": 1, "max_length": 6}),
    "grid": ("grid", {"ndim": 2, "height": 4}),
}

JUNK: dict[str, Any] = {
    "none": None,
    "int": 7,
    "float": 0.5,
    "bool": True,
    "bytes": b"ACGT",
    "dict": {"a": 1},
    "set": {1, 2},
    "empty-str": "",
    "whitespace": "   ",
    "empty-list": [],
    "nested": [[1, 2], [3, 4]],
    "huge-str": "A" * 200_000,
    "nul": "A\x00",
    "object": object(),
}


def _design_cases() -> Iterator[Case]:
    for space_id in SPACES:
        for label, design in JUNK.items():
            yield Case(f"design/{space_id}/{label}", "design", (space_id, design), isolate=space_id == "smiles" and label == "huge-str")
    seq = {
        "lower": ("acgtac", "error"),
        "short": ("ACG", "error"),
        "long": ("ACGTACG", "error"),
        "unknown-token": ("ACGTAX", "error"),
        "unicode": ("ACGTAΩ", "error"),
        "ids": ([0, 1, 2, 3, 0, 1], "ok", "ACGTAC"),
        "id-out-of-range": ([0, 1, 2, 3, 0, 9], "error"),
        "negative-id": ([0, 1, 2, 3, 0, -1], "error"),
        "bool-ids": ([True, False, True, False, True, False], "error"),
        "float-ids": ([0.0, 1.0, 2.0, 3.0, 0.0, 1.0], "error"),
        "string-ids": (["0", "1", "2", "3", "0", "1"], "error"),
        "tuple-of-tokens": (("A", "C", "G", "T", "A", "C"), "ok", "ACGTAC"),
        "valid": ("ACGTAC", "ok", "ACGTAC"),
        "spaces": ("ACG TA", "error"),
        "newline": ("ACGTA\n", "error"),
        "huge-list": ([0] * 1_000_000, "error"),
    }
    for label, (design, expect, *value) in seq.items():
        yield Case(f"design/sequence/{label}", "design", ("sequence", design), expect, value=value[0] if value else None)
    tokens = {
        "valid": ("A dA Orn", "ok", ("A", "dA", "Orn")),
        "unknown": ("A dB", "error"),
        "double-space": ("A  dA", "error"),
        "too-long": ("A A A A A", "error"),
        "ids": ([0, 1, 2], "ok", ("A", "dA", "Orn")),
    }
    for label, (design, expect, *value) in tokens.items():
        yield Case(f"design/tokens/{label}", "design", ("tokens", design), expect, value=value[0] if value else None)
    box = {
        "strings": (["0.5", "0.5"], "error"),
        "bools": ([True, False], "error"),
        "mixed-bool": ([0.5, True], "error"),
        "nan": ([math.nan, 0.5], "error"),
        "inf": ([math.inf, 0.5], "error"),
        "outside": ([1.5, 0.5], "error"),
        "negative": ([-0.1, 0.5], "error"),
        "three": ([0.1, 0.2, 0.3], "error"),
        "one": ([0.1], "error"),
        "complex": ([0.5 + 1j, 0.5], "error"),
        "none-coord": ([None, 0.5], "error"),
        "nested-strings": ([["0.5"], ["0.5"]], "error"),
        "string": ("0.5,0.5", "error"),
        "valid": ([0.25, 0.75], "ok", (0.25, 0.75)),
        "tuple": ((0.0, 1.0), "ok", (0.0, 1.0)),
        "ints": ([0, 1], "ok", (0.0, 1.0)),
    }
    for label, (design, expect, *value) in box.items():
        yield Case(f"design/box/{label}", "design", ("box", design), expect, value=value[0] if value else None)
    smiles = {
        "trailing-unicode": ("CCOΩ", "error"),
        "trailing-words": ("CCO garbage", "error"),
        "tab": ("CCO\tC", "error"),
        "newline": ("CC\nO", "error"),
        "wildcard": ("*", "error"),
        "wildcard-attached": ("C*", "error"),
        "bracket-wildcard": ("[*]CC", "error"),
        "unclosed-ring": ("C1CC", "error"),
        "unclosed-branch": ("CC(C", "error"),
        "bad-valence": ("C(C)(C)(C)(C)C", "error"),
        "unknown-element": ("[Xx]", "error"),
        "fragments": ("CC.O", "error"),
        "only-dot": (".", "error"),
        "long-20k": ("C" * 20_000, "error"),
        "long-200k": ("C" * 200_000, "error"),
        "deep-branches": ("C(" * 5000 + "C" + ")" * 5000, "error"),
        "many-rings": ("".join(f"C{i % 9 + 1}" for i in range(3000)), "error"),
        "valid": ("OCC", "ok", "CCO"),
        "valid-aromatic": ("c1ccccc1", "ok", "c1ccccc1"),
        "padded": ("  CCO  ", "ok", "CCO"),
    }
    for label, (design, expect, *value) in smiles.items():
        yield Case(f"design/smiles/{label}", "design", ("smiles", design), expect, value=value[0] if value else None, isolate=len(design) > 1000)
    peptide = {
        "bad-n-cap": ("Xx-GLWK", "error", None, ("N-terminal",)),
        "bad-c-cap": ("GLWK-Foo", "error", None, ("C-terminal",)),
        "both-caps-bad": ("Xx-GLWK-Foo", "error", None, ()),
        "cyclo-unclosed": ("cyclo(GLWK", "error", None, ()),
        "cyclo-caps": ("Ac-cyclo(GLWK)", "error", None, ()),
        "lowercase": ("glwk", "error", None, ()),
        "unknown-bracket": ("GL[Zzz]K", "error", None, ("Zzz",)),
        "bracketed-canonical": ("GL[W]K", "error", None, ()),
        "too-short": ("G", "error", None, ()),
        "too-long": ("G" * 11, "error", None, ()),
        "unicode": ("GLWKΩ", "error", None, ()),
        "inner-hyphen": ("GL-WK", "error", None, ()),
        "valid": ("Ac-GLWK-NH2", "ok", "Ac-GLWK-NH2", ()),
        "valid-cyclic": ("cyclo(WKGL)", "ok", None, ()),
        "valid-ids": ([0, 1, 2], "ok", None, ()),
    }
    for label, (design, expect, value, names) in peptide.items():
        yield Case(f"design/peptide/{label}", "design", ("peptide", design), expect, names=names, value=value)
    pep_smiles = {
        "not-peptide": ("CCO", "error"),
        "trailing-words": ("NCC(=O)O garbage", "error"),
        "trailing-unicode": ("NCC(=O)OΩ", "error"),
        "huge": ("C" * 200_000, "error"),
        "glycine": ("NCC(=O)O", "ok", "NCC(=O)O"),
    }
    for label, (design, expect, *value) in pep_smiles.items():
        yield Case(f"design/peptide_smiles/{label}", "design", ("peptide_smiles", design), expect, value=value[0] if value else None, isolate=len(design) > 1000)
    grid = {
        "bools": ([True, False], "error"),
        "strings": (["1", "2"], "error"),
        "fraction": ([1.5, 2], "error"),
        "outside": ([4, 0], "error"),
        "negative": ([-1, 0], "error"),
        "three": ([0, 1, 2], "error"),
        "json-bad": ("[1,", "error"),
        "valid": ([1, 2], "ok", (1, 2)),
        "integral-floats": ([1.0, 2.0], "ok", (1, 2)),
    }
    for label, (design, expect, *value) in grid.items():
        yield Case(f"design/grid/{label}", "design", ("grid", design), expect, value=value[0] if value else None)


# --------------------------------------------------------------------------- objective outputs

def _output_cases() -> Iterator[Case]:
    import numpy as np
    import torch

    bad: dict[str, Any] = {
        "strings": ["0.5", "1.5"],
        "bytes": [b"1", b"2"],
        "complex": [1 + 2j, 3 + 0j],
        "complex-zero-imag": [1 + 0j, 3 + 0j],
        "numpy-complex": np.array([1 + 2j, 3]),
        "torch-complex": torch.tensor([1 + 2j, 3 + 0j]),
        "scalar": 3.0,
        "too-few": [1.0],
        "too-many": [1.0, 2.0, 3.0],
        "wrong-columns": [[1.0, 2.0], [3.0, 4.0]],
        "3d": [[[1.0]], [[2.0]]],
        "dict": {"a": 1},
        "none": None,
        "string": "12",
        "nested-strings": [["1"], ["2"]],
        "objects": [object(), object()],
        "nan": [math.nan, math.nan],
        "inf": [math.inf, -math.inf],
        "set": {1.0, 2.0},
        "numpy-strings": np.array(["1", "2"]),
        "ragged": [[1.0], [2.0, 3.0]],
        "empty": [],
    }
    for label, out in bad.items():
        yield Case(f"output/{label}", "output", out, names=("f",))
    ok: dict[str, tuple[Any, list[float]]] = {
        "list": ([1.0, 2.0], [1.0, 2.0]),
        "ints": ([1, 2], [1.0, 2.0]),
        "column": ([[1.0], [2.0]], [1.0, 2.0]),
        "numpy": (np.array([1.0, 2.0]), [1.0, 2.0]),
        "numpy-int": (np.array([1, 2]), [1.0, 2.0]),
        "tensor": (torch.tensor([1.0, 2.0]), [1.0, 2.0]),
        "tensor-double": (torch.tensor([1.0, 2.0], dtype=torch.float64), [1.0, 2.0]),
        "bools": ([True, False], [1.0, 0.0]),
        "tuple": ((1.0, 2.0), [1.0, 2.0]),
        "none-is-infeasible": ([None, 2.0], [math.nan, 2.0]),
        "nan-is-infeasible": ([math.nan, 2.0], [math.nan, 2.0]),
        "numpy-float32": (np.array([0.5, 0.25], dtype=np.float32), [0.5, 0.25]),
    }
    for label, (out, expected) in ok.items():
        yield Case(f"output/ok-{label}", "output", out, "ok", value=expected)


# --------------------------------------------------------------------------- the Python path

def _python_cases() -> Iterator[Case]:
    base = {"budget": 8, "batch_size": 4, "progress": False, "plots": False}
    bad = {
        "seed=-1": ({"seed": -1}, "seed"),
        "seed=2^64": ({"seed": 2**64}, "seed"),
        "seed=true": ({"seed": True}, "seed"),
        "seed=1.5": ({"seed": 1.5}, "seed"),
        "strategy=unknown": ({"strategy": "anneal"}, "anneal"),
        "strategy-option=unknown": ({"population_size_typo": 3}, "population_size_typo"),
        "strategy-option=bool": ({"strategy": "evolution", "population_size": True}, "population_size"),
        "strategy-option=nan": ({"strategy": "evolution", "mean_mutations": math.nan}, "mean_mutations"),
        "directions=up": ({"directions": "up"}, "up"),
        "space=int": ({"space": 3}, "space"),
        "space-name=unknown": ({"space": "sequense"}, "sequense"),
        "space-options=bad": ({"space": "sequence", "space_options": {"alphabet": "01", "length": 2.5}}, "length"),
    }
    for label, (kwargs, name) in bad.items():
        yield Case(f"python/{label}", "python", {**base, **kwargs}, names=(name,))
    yield Case("python/ok", "python", dict(base), "ok")
    yield Case("python/ok-seed-max", "python", {**base, "seed": 2**32 - 1}, "ok")


def cases() -> list[Case]:
    """Every case, in a fixed order."""
    return [*_config_cases(), *_design_cases(), *_output_cases(), *_python_cases()]


# --------------------------------------------------------------------------- running and classifying

_SPACE_CACHE: dict[str, Any] = {}


def _space(space_id: str) -> Any:
    if space_id not in _SPACE_CACHE:
        from gendesign.core.plugins import get_plugins

        name, options = SPACES[space_id]
        _SPACE_CACHE[space_id] = get_plugins().spaces.build(name, options, seed=0, device="cpu")
    return _SPACE_CACHE[space_id]


def _count_ones(xs: list[Any]) -> list[float]:
    return [float(str(x).count("1")) for x in xs]


def execute(case: Case) -> Any:
    """Run ``case`` and return what the code under test returned (raises what it raised)."""
    if case.kind == "config":
        from gendesign.api import validate_config

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "case.toml"
            if isinstance(case.payload, bytes):
                path.write_bytes(case.payload)
            else:
                path.write_text(case.payload, encoding="utf-8")
            return validate_config(path)
    if case.kind == "design":
        space_id, design = case.payload
        return _space(space_id).validate(design)
    if case.kind == "output":
        from gendesign.core.objective import FunctionObjective

        payload = case.payload
        return FunctionObjective(lambda xs: payload, names="f")(["a", "b"])
    if case.kind == "python":
        from gendesign import optimize
        from gendesign.core.sequence_space import SequenceSpace

        kwargs = dict(case.payload)
        space = kwargs.pop("space", SequenceSpace("01", length=4))
        strategy = kwargs.pop("strategy", "random")
        return optimize(_count_ones, space, strategy, **kwargs)
    raise ValueError(f"unknown case kind {case.kind!r}")


def classify(case: Case, run: Callable[[Case], Any] = execute) -> tuple[str, str]:
    """``(outcome, detail)`` for ``case``: one of :data:`OUTCOMES` and the message or value seen."""
    from gendesign.core.errors import GendesignError

    try:
        result = _with_timeout(lambda: run(case), TIMEOUT_S)
    except _Timeout:
        return "hang", f"no answer within {TIMEOUT_S:.0f} s"
    except GendesignError as exc:
        message = str(exc)
        if case.expect == "ok":
            return "valid rejected", message
        return ("clear error" if _clear(message, case) else "unclear error"), message
    except Exception as exc:  # noqa: BLE001 - the point is to catch what escapes
        if case.expect == "ok":
            return "valid rejected", f"{type(exc).__name__}: {exc}"
        return "traceback", f"{type(exc).__name__}: {exc}"
    if case.kind == "output":
        return _classify_scores(case, result)
    if case.expect == "error":
        return "garbage accepted", repr(result)[:200]
    if case.value is not None and result != case.value:
        return "garbage accepted", f"{result!r} (expected {case.value!r})"
    return "accepted as documented", repr(result)[:200]


def _clear(message: str, case: Case) -> bool:
    text = message.lower()
    return bool(message.strip()) and "\n" not in message.strip() and all(n.lower() in text for n in case.names)


def _classify_scores(case: Case, scores: Any) -> tuple[str, str]:
    values = scores.values.reshape(len(scores), -1)[:, 0].tolist() if len(scores) else []
    if case.expect == "ok":
        same = len(values) == len(case.value) and all(
            (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(values, case.value)
        )
        return ("accepted as documented" if same else "garbage accepted"), f"values {values}"
    if bool(scores.valid.any()):
        return "garbage accepted", f"values {values}, valid {scores.valid.tolist()}"
    errors = [e for e in scores.errors if e]
    if len(errors) == len(scores) and all(_clear(e, case) for e in errors):
        return "clear error", errors[0]
    return "unclear error", "; ".join(str(e) for e in scores.errors)[:300]


class _Timeout(Exception):
    pass


def _with_timeout(fn: Callable[[], Any], seconds: float) -> Any:
    """``fn()``, interrupted after ``seconds`` by SIGALRM (main thread on POSIX only; elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return fn()

    def _raise(signum: int, frame: Any) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
