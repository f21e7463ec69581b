"""Lab in the loop: designs leave as a plate file and their measurements come back later.

A campaign in ``mode = "lab"`` never calls its objective; its columns (names, directions,
constraints) describe what the lab measures. :func:`ask` proposes designs, records them in the
ledger as pending (charged to the budget) and returns them for a plate file; :func:`tell` imports a
results file. Both restore the run from its checkpoint and save it again, so any number of
``ask``/``tell`` calls, days apart, continue one run.

Rules of :func:`tell`, checked for the whole file before anything is recorded:

* rows are matched on the ``id`` column that :func:`ask` wrote (a short hash of the design's key);
  an id this run never asked for refuses the file, naming the ids;
* a row whose measurement columns are all blank stays pending (a partial plate);
* a row with an ``error`` text is recorded as a failed design with that reason;
* otherwise every measurement column must hold a number; a blank or non-numeric cell refuses the
  file, naming the row, the column and the value;
* a design that was already imported with the same values is skipped, so importing a file twice
  changes nothing; different values for it refuse the file (a measurement is never overwritten).
"""

from __future__ import annotations

import csv
import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from gendesign.core.errors import CampaignError, ConfigError
from gendesign.core.ledger import PendingDesign
from gendesign.core.objective import Scores

if TYPE_CHECKING:
    from gendesign.core.campaign import Campaign

ID_COLUMN = "id"
DESIGN_COLUMN = "design"
PLATE_COLUMN = "plate"
ERROR_COLUMN = "error"
ASK_ATTEMPTS = 20
"""``strategy.ask`` calls one :func:`ask` makes at most while the strategy keeps proposing known designs."""


def design_id(key: str) -> str:
    """The 12-hex-digit id of a design in plate and results files: a SHA-256 prefix of its canonical key."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass
class Plate:
    """Designs proposed by one :func:`ask`.

    Attributes:
        name: the plate's name (stored with each pending design).
        designs: ``(key, canonical design)`` in proposal order.
        cached: designs the strategy proposed that the ledger already held (told at once, not on the plate).
    """

    name: str
    designs: list[tuple[str, Any]]
    cached: int = 0


@dataclass
class TellReport:
    """What :func:`tell` did with a results file.

    Attributes:
        recorded: designs imported now (measured or failed).
        failed: of those, rows with an ``error``.
        already: rows imported before with the same values (skipped).
        still_pending: rows left blank (the design stays pending).
        pending_left: designs of the run still pending after the import.
    """

    recorded: int = 0
    failed: int = 0
    already: int = 0
    still_pending: int = 0
    pending_left: int = 0
    keys: list[str] = field(default_factory=list)


def ask(campaign: Campaign, n: int, *, plate: str | None = None) -> Plate:
    """Propose up to ``n`` new designs, record them as pending and checkpoint the run.

    Raises:
        CampaignError: the campaign is not in lab mode, or its budget is used up by measured and
            pending designs.
    """
    _require_lab(campaign)
    if n < 1:
        raise ConfigError(f"n={n}; ask for 1 or more designs")
    campaign.prepare()
    c = campaign.counters
    room = campaign.budget - c.evaluations - len(campaign._in_flight)
    if room <= 0:
        raise CampaignError(
            f"the budget of {campaign.budget} designs is used: {c.evaluations} measured and {len(campaign._in_flight)} pending. "
            "Import pending results with `gendesign tell`, or raise [campaign] budget in config.resolved.toml of the run directory"
        )
    name = plate or f"plate-{c.round + 1}"
    chosen: list[tuple[str, Any]] = []
    cached = 0
    from gendesign.core.progress import Progress

    quiet = Progress(campaign.budget, enabled=False)
    for _ in range(ASK_ATTEMPTS):
        want = min(n - len(chosen), room - len(chosen))
        if want <= 0:
            break
        asked = campaign._ask(want)
        if not asked:
            break
        round_ = c.round + 1
        before = c.evaluations
        resolved, fresh, new = campaign._admit(asked, round_, quiet)
        cached += c.evaluations - before
        c.round = round_
        c.idle_rounds = 0 if new else c.idle_rounds + 1
        if fresh:
            campaign.ledger.add_pending(campaign.run_id, [PendingDesign(key, campaign.space.to_json(d), round_, name) for key, d in fresh])
            campaign._in_flight.update(fresh)
            chosen.extend(fresh)
        campaign._tell(resolved)
    campaign._save()
    return Plate(name, chosen, cached)


def write_plate(campaign: Campaign, plate: Plate, path: str | Path) -> Path:
    """Write ``plate`` as CSV: ``id``, ``design`` (its display form), ``plate``, then one blank column per measured column and ``error``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    names = [s.name for s in campaign.specs]
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([ID_COLUMN, DESIGN_COLUMN, PLATE_COLUMN, *names, ERROR_COLUMN])
        for key, design in plate.designs:
            writer.writerow([design_id(key), campaign.space.display(design), plate.name, *([""] * len(names)), ""])
    return target


def tell(campaign: Campaign, path: str | Path) -> TellReport:
    """Import the measurements in CSV ``path`` (see the module docstring for the rules) and checkpoint the run.

    Raises:
        ConfigError: the file is missing a column, names ids this run never asked for, holds a
            blank or non-numeric measurement, or contradicts an earlier import; nothing is recorded.
    """
    _require_lab(campaign)
    campaign.prepare()
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"results file {str(source)!r} does not exist")
    names = [s.name for s in campaign.specs]
    with source.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [col for col in (ID_COLUMN, *names) if col not in header]
        if missing:
            raise ConfigError(f"{source}: missing column(s) {missing}; the file needs {ID_COLUMN!r} and one column per measurement {names}")
        rows = list(reader)
    pending = {design_id(key): key for key in campaign._in_flight}
    known = {design_id(key): key for key in campaign._known}
    unknown = [row[ID_COLUMN] for row in rows if row[ID_COLUMN] not in pending and row[ID_COLUMN] not in known]
    if unknown:
        raise ConfigError(
            f"{source}: {len(unknown)} id(s) were never asked for by this run: {', '.join(unknown[:10])}"
            f"{' ...' if len(unknown) > 10 else ''}; import only rows of plates that `gendesign ask` wrote for {campaign.run_dir or 'this run'}"
        )
    report = TellReport()
    incoming: dict[str, tuple[tuple[float, ...], str | None]] = {}
    for line, row in enumerate(rows, start=2):
        cells = [(row.get(col) or "").strip() for col in names]
        error = (row.get(ERROR_COLUMN) or "").strip() or None
        if error is None and not any(cells):
            report.still_pending += row[ID_COLUMN] in pending
            continue
        values = _parse_values(source, line, names, cells) if error is None else (math.nan,) * len(names)
        key = pending.get(row[ID_COLUMN]) or known[row[ID_COLUMN]]
        if key in campaign._known:
            if not _same(campaign._known[key].values, values, campaign._known[key].error, error):
                old = campaign._known[key]
                raise ConfigError(
                    f"{source}, line {line}: design {row[ID_COLUMN]} was imported before with values {list(old.values)}"
                    f"{f' and error {old.error!r}' if old.error else ''}; this file says {list(values)}{f' and error {error!r}' if error else ''}. "
                    "A measurement is never overwritten: fix the file or drop the row"
                )
            report.already += 1
            continue
        if key in incoming and incoming[key] != (values, error):
            raise ConfigError(f"{source}, line {line}: design {row[ID_COLUMN]} appears twice with different values; keep one row")
        incoming[key] = (values, error)
    if incoming:
        _record(campaign, incoming)
    report.recorded = len(incoming)
    report.failed = sum(error is not None for _, error in incoming.values())
    report.keys = list(incoming)
    report.pending_left = len(campaign._in_flight)
    campaign._save()
    return report


def _record(campaign: Campaign, incoming: dict[str, tuple[tuple[float, ...], str | None]]) -> None:
    """Record measured designs as a batch of the rounds that asked for them, then tell the strategy."""
    from gendesign.core.progress import Progress

    rounds = {p.key: p for p in campaign.ledger.pending(campaign.run_id)}
    by_round: dict[int, list[str]] = {}
    for key in incoming:
        by_round.setdefault(rounds[key].round, []).append(key)
    quiet = Progress(campaign.budget, enabled=False)
    now = time.time()
    for round_, keys in sorted(by_round.items()):
        values = torch.tensor([incoming[k][0] for k in keys], dtype=torch.float64).reshape(len(keys), len(campaign.specs))
        errors = [None if incoming[k][1] is None else f"lab: {incoming[k][1]}" for k in keys]
        valid = torch.tensor([e is None for e in errors], dtype=torch.bool)
        scores = Scores(values=values, valid=valid, specs=campaign.specs, errors=errors)
        batch = [(k, campaign._in_flight[k]) for k in keys]
        campaign._commit(batch, scores, [now - rounds[k].submitted for k in keys], round_, quiet)
        campaign._tell([(d, k) for k, d in batch])


def _parse_values(source: Path, line: int, names: Sequence[str], cells: Sequence[str]) -> tuple[float, ...]:
    out: list[float] = []
    for name, cell in zip(names, cells):
        if not cell:
            raise ConfigError(
                f"{source}, line {line}: column {name!r} is blank while others are filled; fill every measurement, "
                "leave them all blank to keep the design pending, or write why it failed in the 'error' column"
            )
        try:
            value = float(cell)
        except ValueError:
            raise ConfigError(f"{source}, line {line}: column {name!r} holds {cell!r}, not a number") from None
        if not math.isfinite(value):
            raise ConfigError(f"{source}, line {line}: column {name!r} holds {cell!r}; give a finite number or use the 'error' column")
        out.append(value)
    return tuple(out)


def _same(old: Sequence[float], new: Sequence[float], old_error: str | None, new_error: str | None) -> bool:
    if (old_error is None) != (new_error is None):
        return False
    if old_error is not None:
        return old_error == f"lab: {new_error}"
    return all(math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0) or (math.isnan(a) and math.isnan(b)) for a, b in zip(old, new))


def _require_lab(campaign: Campaign) -> None:
    if campaign.mode != "lab":
        raise CampaignError(f"{campaign.run_dir or 'this campaign'} runs in {campaign.mode!r} mode; ask/tell need [campaign] mode = \"lab\"")
