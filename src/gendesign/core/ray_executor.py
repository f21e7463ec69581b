"""Score designs on a Ray cluster: stateless tasks, or an actor pool that keeps one loaded objective per actor.

``executor = "ray"`` (extra ``ray``). Ray is imported when the executor is built, never before.

* **Connection.** ``address`` joins an existing cluster (``"auto"``, ``"ray://head:10001"``); with
  none, a local cluster is started with ``num_cpus`` CPUs (default: all) and shut down by
  :meth:`RayExecutor.close`. A process that already called ``ray.init`` is used as it is.
  ``runtime_env`` is handed to ``ray.init`` (how a plugin's code reaches remote workers; see
  ``docs/scale.md``).
* **Tasks** (default). Each chunk of designs is a Ray task. ``max_retries`` re-runs a task whose
  worker died (a system failure); ``retry_exceptions = true`` also re-runs one whose objective
  raised. The objective is put in the object store once and shared by every task.
* **Actors** (``actors = true``), for objectives that are expensive to load or hold a GPU model:
  ``workers`` actors each load the objective once and score the chunks sent to them
  (``gpus_per_worker`` may be a fraction to pack several actors on one GPU). ``max_restarts`` and
  ``max_task_retries`` are set explicitly on every actor, so a crashed actor comes back and its
  batch is re-run; an actor that has used up its restarts is replaced by a new one and the chunk
  re-sent.
* **Failures.** A chunk that still fails after every retry reaches the campaign as a failed
  submission; the campaign records each of its designs as failed with Ray's error, never drops it.
* **Timeouts.** :meth:`cancel` (called by an asynchronous campaign with ``timeout``) force-cancels
  a task, which kills its worker process, or kills and replaces the actor running it.

The ledger stays on the driver: workers only compute scores, so the campaign's record of what was
paid for is exact whatever happens to them. The budget is charged when a design is submitted, so a
retry is never charged twice.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gendesign.core.errors import ConfigError
from gendesign.core.executor import Chunk, Executor, _check_chunk_size, _score_chunk
from gendesign.core.objective import Objective, Scores


class _ObjectiveActor:
    """Holds one copy of the objective (built once, on the actor's worker) and scores chunks with it."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective

    def score(self, designs: list[Any]) -> Scores:
        return _score_chunk(self.objective, designs)


@dataclass
class _Launch:
    """A chunk on the cluster: its object ref, what it scores, and (in actor mode) the actor slot running it."""

    ref: Any
    objective: Objective
    designs: list[Any]
    slot: int | None
    replacements: int = 0


class RayExecutor(Executor):
    """Score chunks of designs as Ray tasks, or on a pool of Ray actors that each load the objective once.

    Args:
        workers: Ray tasks in flight for a synchronous batch (one chunk each), or actors in the pool.
        chunk_size: designs per task (default: a batch split into ``workers`` chunks; one design
            per submission in an asynchronous campaign).
        address: the cluster to join; ``None`` starts a local one.
        num_cpus: CPUs of a local cluster (``None``: all of this machine's).
        actors: score with an actor pool instead of stateless tasks.
        cpus_per_worker: CPUs each task or actor reserves.
        gpus_per_worker: GPUs each task or actor reserves (fractions allowed, e.g. ``0.25``).
        max_retries: task re-runs after a worker dies (Ray's ``max_retries``).
        retry_exceptions: also re-run a task whose objective raised.
        max_restarts: restarts of a crashed actor (Ray's ``max_restarts``).
        max_task_retries: re-runs of an actor call interrupted by the actor's crash.
        max_replacements: new actors started for one chunk after its actor is dead for good.
        runtime_env: Ray runtime environment for ``ray.init`` (e.g. ``{"py_modules": [...]}``).

    Raises:
        ConfigError: Ray is not installed, or cannot start or reach the cluster.
    """

    def __init__(
        self,
        workers: int = 2,
        chunk_size: int | None = None,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        actors: bool = False,
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float = 0.0,
        max_retries: int = 3,
        retry_exceptions: bool = False,
        max_restarts: int = 3,
        max_task_retries: int = 3,
        max_replacements: int = 2,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"RayExecutor: workers={workers}; use 1 or more")
        for name, value in (("max_retries", max_retries), ("max_restarts", max_restarts), ("max_task_retries", max_task_retries), ("max_replacements", max_replacements)):
            if value < 0:
                raise ConfigError(f"RayExecutor: {name}={value}; use 0 or more")
        if cpus_per_worker < 0 or gpus_per_worker < 0:
            raise ConfigError(f"RayExecutor: cpus_per_worker={cpus_per_worker}, gpus_per_worker={gpus_per_worker}; resources cannot be negative")
        try:
            import ray
        except ImportError:
            raise ConfigError("executor = 'ray' needs Ray: pip install 'gendesign[ray]'") from None
        self._ray = ray
        self.workers = int(workers)
        self.chunk_size = _check_chunk_size("RayExecutor", chunk_size)
        self.actors = actors
        self.max_replacements = max_replacements
        self._owns_cluster = False
        if not ray.is_initialized():
            try:
                ray.init(address=address, num_cpus=num_cpus if address is None else None, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False)
            except Exception as exc:  # noqa: BLE001 - any start or connection failure is a configuration problem
                where = f"the cluster at address={address!r}" if address else "a local Ray cluster"
                raise ConfigError(f"RayExecutor could not start or join {where}: {type(exc).__name__}: {exc}") from None
            self._owns_cluster = True
        self._task = ray.remote(_score_chunk).options(
            num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_retries=max_retries, retry_exceptions=retry_exceptions
        )
        self._actor_class = ray.remote(_ObjectiveActor).options(
            num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_restarts=max_restarts, max_task_retries=max_task_retries
        )
        self._objective: tuple[Objective, Any] | None = None
        self._pool: list[Any] = []
        self._load: list[int] = []
        self._live: dict[concurrent.futures.Future[Scores], _Launch] = {}

    def _objective_ref(self, objective: Objective) -> Any:
        """The object-store copy of ``objective``, put once; a new objective replaces the actor pool."""
        if self._objective is None or self._objective[0] is not objective:
            self._kill_pool()
            self._objective = (objective, self._ray.put(objective))
        return self._objective[1]

    def _actor(self, objective: Objective) -> int:
        """The pool slot with the fewest chunks in flight (the pool is started on first use)."""
        ref = self._objective_ref(objective)
        if not self._pool:
            self._pool = [self._actor_class.remote(ref) for _ in range(self.workers)]
            self._load = [0] * self.workers
        return min(range(len(self._pool)), key=self._load.__getitem__)

    def _launch(self, objective: Objective, designs: list[Any]) -> _Launch:
        if not self.actors:
            return _Launch(self._task.remote(self._objective_ref(objective), designs), objective, designs, None)
        slot = self._actor(objective)
        self._load[slot] += 1
        return _Launch(self._pool[slot].score.remote(designs), objective, designs, slot)

    def submit(self, objective: Objective, designs: Sequence[Any]) -> concurrent.futures.Future[Scores]:
        future: concurrent.futures.Future[Scores] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        self._live[future] = self._launch(objective, list(designs))
        return future

    def wait(self, futures: Sequence[concurrent.futures.Future[Scores]], timeout: float | None = None) -> set[concurrent.futures.Future[Scores]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = {f for f in futures if f.done()}
            if done:
                return done
            refs = {self._live[f].ref: f for f in futures if f in self._live}
            if not refs:
                return set()
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            ready, _ = self._ray.wait(list(refs), num_returns=1, timeout=left)
            if not ready:
                return set()
            for ref in ready:
                self._settle(refs[ref])

    def _settle(self, future: concurrent.futures.Future[Scores]) -> None:
        """Hand a finished chunk's result (or final error) to its future; re-send it when its actor is dead for good."""
        launch = self._live[future]
        if launch.slot is not None:
            self._load[launch.slot] -= 1
        try:
            result = self._ray.get(launch.ref)
        except self._ray.exceptions.RayActorError as exc:
            if launch.replacements >= self.max_replacements:
                del self._live[future]
                future.set_exception(exc)
                return
            self._replace(launch.slot)
            relaunched = self._launch(launch.objective, launch.designs)
            relaunched.replacements = launch.replacements + 1
            self._live[future] = relaunched
            return
        except Exception as exc:  # noqa: BLE001 - the task's final error, after Ray's retries
            del self._live[future]
            future.set_exception(exc)
            return
        del self._live[future]
        future.set_result(result)

    def _replace(self, slot: int | None) -> None:
        if slot is None or self._objective is None:
            return
        self._pool[slot] = self._actor_class.remote(self._objective[1])
        self._load[slot] = 0

    def cancel(self, future: concurrent.futures.Future[Scores]) -> bool:
        launch = self._live.pop(future, None)
        if launch is None:
            return False
        if launch.slot is None:
            self._ray.cancel(launch.ref, force=True)
        else:
            self._ray.kill(self._pool[launch.slot], no_restart=True)
            self._replace(launch.slot)
        future.set_exception(TimeoutError("cancelled"))
        return True

    def chunks(self, objective: Objective, designs: Sequence[Any]) -> Iterator[Chunk]:
        designs = list(designs)
        size = self.chunk_size or -(-len(designs) // self.workers) or 1
        starts = {self.submit(objective, designs[i : i + size]): i for i in range(0, len(designs), size)}
        last = time.perf_counter()
        waiting = list(starts)
        while waiting:
            for future in self.wait(waiting):
                waiting.remove(future)
                try:
                    scores = future.result()
                except Exception as exc:  # noqa: BLE001 - every design of the chunk is recorded as failed with Ray's error
                    scores = Scores.failed(len(designs[starts[future] : starts[future] + size]), objective.specs, f"executor failed: {type(exc).__name__}: {exc}")
                now = time.perf_counter()
                yield Chunk(starts[future], scores, now - last)
                last = now

    def _kill_pool(self) -> None:
        for actor in self._pool:
            self._ray.kill(actor, no_restart=True)
        self._pool, self._load = [], []

    def close(self) -> None:
        for launch in self._live.values():
            self._ray.cancel(launch.ref, force=launch.slot is None)
        self._live.clear()
        self._kill_pool()
        if self._owns_cluster:
            self._ray.shutdown()
