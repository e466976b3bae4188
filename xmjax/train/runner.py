"""One runner for every experiment: a task says what to train, the runner does the rest.

A task (`Task`) is an experiment reduced to what is its own:

- `prepare(config) -> data`: validates the config and loads the data; it
  touches no file, so a bad input fails before anything is written;
- `stages(config)`: the provenance of its cached stages (`provenance.Stage`,
  which config fields each depends on) and `inputs(config)`, the files they read;
- `train(run, data) -> trained`: trains its stages through `run.train`
  (a `TrainingStage`: a name, how its state starts, a plain step function,
  the batches as a function of the step, the number of steps, optional
  validation; placed on the devices of config.mesh by the runner, data
  parallel unless the stage says otherwise) and `run.cached` (a stage product kept as `.npz`);
- `results(run, data, trained) -> dict`: the numbers of results.json.

The runner owns the rest, once for every task: checking the config against
the experiment's locked schema and field rules (its `*_schema.py`, found
by `xmjax.configs.registry`, which also names the task's module),
claiming the stages (a finished stage is reused only for the config that
made it), saving config.json, the metric writer,
timing.json, jitting the steps (donation, static arguments), checkpoints and
resume, results.json, the training-curve plots, and re-evaluating a workdir
without training (`evaluate_workdir`, `launch/eval.py`: every stage
restored from its checkpoint, through the task's `restore` or through an
`Evaluation`, which reads back each stage the task's code declares).
Sweeps and seeds (`xmjax.train.sweep`) call `train_and_evaluate` once per point.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import json
import logging
import os
import time
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import jax
import ml_collections
import numpy as np

from xmjax.configs import ranges, registry
from xmjax.errors import InputError
from xmjax.programs import compiled
from xmjax.train import parallel, provenance
from xmjax.train.checkpoint import Checkpointer, restore_for_eval
from xmjax.train.logging import MetricWriter
from xmjax.train.files import save_npz_atomic, write_json_atomic
from xmjax.train.loop import Hook, run_training
from xmjax.train.plots import plot_results, plot_training_curves
from xmjax.train.state import check_complete_fields, check_known_fields, save_config

log = logging.getLogger("xmjax")

__all__ = ["Evaluation", "Run", "Task", "TrainingStage", "compiled", "ensemble_results",
           "evaluate_workdir", "get_task", "place_stage", "train_and_evaluate"]


@dataclasses.dataclass(frozen=True)
class TrainingStage:
  """One trained stage of a task, as `Run.train` needs it.

  name: the metric prefix ("baseline", "rrnet", "split0"); checkpoints go to
    `workdir/<checkpoint_dir or name/checkpoints>`.
  init: () -> a fresh train state (also the template a checkpoint restores into).
  step: a plain function (state, *batch, **static) -> (state, metrics); the
    runner jits it once per (function, static argument names), donating the state.
  batches: step number -> the batch tuple; a pure function of the step, so a
    resumed run sees the data an uninterrupted one would.
  num_steps, checkpoint_every: the stage's length and checkpoint interval.
  static: keyword arguments of `step` that are static under jit (loss options).
  validate: optional state -> dict of scalars, logged as `<name>/valid_*`
    every `validate_every` steps and at the end (monitoring only).
  data: arrays every step reads whole (the training set), passed to `step`
    right after the state: `step(state, *data, *batches(step))`.
  placement: how the runner puts the stage on the devices of config.mesh.
    "data_parallel" (the default, for minibatch stages): the state and `data`
    replicated over the mesh once, every leaf of each step's batch (host row
    indices, a batch of examples) split along its first axis over the mesh's
    `data` axis; XLA partitions the step and reduces the gradients.
    "as_given": the task placed everything itself (a full-graph stage, whose
    one "batch" is the graph, split by edges or left on one device).
  compiler_options: XLA options the step is compiled with (a workaround
    for one backend's compiler; options of other backends are ignored).
  """
  name: str
  init: Callable[[], Any]
  step: Callable[..., tuple[Any, Mapping[str, Any]]]
  batches: Callable[[int], tuple]
  num_steps: int
  checkpoint_every: int
  static: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  validate: Optional[Callable[[Any], Mapping[str, Any]]] = None
  validate_every: int = 0
  checkpoint_dir: str = ""
  data: tuple = ()
  placement: str = "data_parallel"
  compiler_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    if self.placement not in PLACEMENTS:
      raise ValueError(f"stage {self.name}: placement {self.placement!r}, expected one of "
                       f"{PLACEMENTS}")


PLACEMENTS = ("data_parallel", "as_given")


def _split_batch(batch, mesh, stage: str):
  """Every leaf of `batch` split along its first axis over the mesh's data
  axis; a leaf whose first axis does not divide is a clear error naming the
  stage (before the step would fail with an XLA sharding message)."""
  size = mesh.devices.size
  for leaf in jax.tree.leaves(batch):
    rows = np.shape(leaf)[0] if np.ndim(leaf) else None
    if rows is None or rows % size:
      raise InputError(
          f"stage {stage}: a batch leaf of shape {np.shape(leaf)} does not split over the "
          f"{size} devices of config.mesh.data; choose a batch size divisible by {size} "
          "(or config.mesh.data = 1)")
  return parallel.shard_rows_tree(batch, mesh)


def place_stage(config, stage: TrainingStage) -> tuple[Callable, Callable, tuple]:
  """The stage's (init, batches, data) as `Run.train` hands them to the
  step, placed on the devices of config.mesh (TrainingStage.placement);
  the step is called as step(init(), *data, *batches(step))."""
  if stage.placement == "as_given":
    return stage.init, stage.batches, stage.data
  mesh = parallel.make_mesh(config)
  return (_placed_init(stage, mesh),
          lambda step: _split_batch(stage.batches(step), mesh, stage.name),
          parallel.replicate(stage.data, mesh))


def _placed_init(stage: TrainingStage, mesh) -> Callable:
  return lambda: parallel.replicate(stage.init(), mesh)


def _with_data(step: Callable, data: tuple, state, *batch):
  return step(state, *data, *batch)


def _no_inputs(config) -> dict[str, list[str]]:
  return {}


@dataclasses.dataclass(frozen=True)
class Task:
  """An experiment as the runner sees it (see the module docstring).

  name: the value of `config.experiment` (its schema and field rules are
    the registry's `xmjax.configs.registry.Experiment` of that name).
  stages: the stages' provenance, a tuple or a function of the config (SDML
    adds a stage per modality added later).
  check_workdir: optional (config, workdir, data) -> data: what the config
    asks of an existing workdir (SDML's add_modality needs a trained run),
    checked before a training run writes anything; may return the data to
    train on instead.
  ensemble: optional (config, workdirs) -> results of several runs combined
    (`launch/eval.py --ensemble_with`).
  headline: fnmatch patterns of the results.json keys a person looks at
    first (printed before the full table, e.g. "*/test_accuracy").
  restore: optional (evaluation, data) -> what `train` returns, read back
    from the workdir for `evaluate_workdir` (SDML: the modalities its
    registry names, added ones included). Without it an evaluation runs
    `train` with an `Evaluation` in place of the `Run`: each stage it
    declares is read back from its checkpoint, each cache only read, so
    the stages are rebuilt from the same code that trained them and
    nothing is stepped.
  """
  name: str
  prepare: Callable[[ml_collections.ConfigDict], Any]
  train: Callable[["Run", Any], Any]
  results: Callable[["Run", Any, Any], dict[str, Any]]
  stages: Sequence[provenance.Stage] | Callable[[Any], Sequence[provenance.Stage]]
  inputs: Callable[[Any], Mapping[str, Sequence[str]]] = _no_inputs
  check_workdir: Optional[Callable[[Any, str, Any], Any]] = None
  ensemble: Optional[Callable[[Any, Sequence[str]], dict[str, Any]]] = None
  headline: Sequence[str] = ()
  restore: Optional[Callable[["Run", Any], Any]] = None

  def stages_for(self, config) -> Sequence[provenance.Stage]:
    return self.stages(config) if callable(self.stages) else self.stages


def get_task(name: str) -> Task:
  """The task of experiment `name` (its module imported on first use, so
  loading a config or listing experiments imports no model code)."""
  declared = registry.experiment(name)
  task = importlib.import_module(declared.task).TASK
  if task.name != name:
    raise ValueError(f"{declared.task}: TASK is named {task.name!r}, its experiment {name!r}")
  return task


class Run:
  """What a task's `train` and `results` see of a training run: `train`
  trains a stage on from its latest checkpoint, `cached` computes a stage
  product once, `record` keeps arrays that describe the run, `timed`
  fills timing.json. A re-evaluation hands the same task code an
  `Evaluation` instead, so no task asks which of the two it is in."""

  def __init__(self, config, workdir: str, *, writer: MetricWriter | None = None,
               hooks: Sequence[Hook] = ()):
    self.config = config
    self.workdir = workdir
    self.writer = writer
    self.hooks = tuple(hooks)
    self.timing: dict[str, float] = {}
    # Timed blocks that did no work (every stage reused, every cache read)
    # keep the seconds an earlier run of this workdir spent on them.
    self._work = self._reuses = 0
    self._previous_timing = self._read_previous_timing()

  def _read_previous_timing(self) -> dict:
    """An earlier run's timing.json ({} if none or unreadable)."""
    timing_path = self.path("timing.json")
    if not os.path.exists(timing_path):
      return {}
    try:
      with open(timing_path) as f:
        return json.load(f)
    except (OSError, ValueError):
      return {}

  def path(self, *parts: str) -> str:
    return os.path.join(self.workdir, *parts)

  @contextlib.contextmanager
  def timed(self, name: str) -> Iterator[None]:
    """Records the block's wall time as timing.json's `<name>_seconds`; a
    block that only reused finished stages keeps an earlier run's time (and
    is listed in timing.json's `reused`)."""
    start, work, reuses = time.time(), self._work, self._reuses
    yield
    key = f"{name}_seconds"
    if self._work == work and self._reuses > reuses and key in self._previous_timing:
      self.timing[key] = self._previous_timing[key]
      self.timing.setdefault("reused", [])
      self.timing["reused"] = sorted({*self.timing["reused"], name})
    else:
      self.timing[key] = time.time() - start

  def train(self, stage: TrainingStage) -> Any:
    """Trains `stage` from its latest checkpoint to its last step and
    returns the state."""
    checkpointer = _checkpointer(self, stage)
    init, batches, data = place_stage(self.config, stage)
    if (checkpointer.latest_step() or 0) < stage.num_steps:
      self._work += 1
    else:
      self._reuses += 1
    step = compiled(stage.step, donate=True, compiler_options=stage.compiler_options,
                    **stage.static)
    if data:
      step = functools.partial(_with_data, step, data)
    return run_training(
        state=init(), train_step=step,
        batch_fn=batches, num_steps=stage.num_steps, checkpointer=checkpointer,
        writer=self.writer, prefix=stage.name, log_every=self.config.log_every,
        checkpoint_every=stage.checkpoint_every, hooks=self.hooks, eval_fn=stage.validate,
        eval_every=stage.validate_every)

  def record(self, relative_path: str, **arrays: np.ndarray) -> None:
    """Keeps arrays that describe the training run (`.npz` in the workdir,
    e.g. which rows were trained on)."""
    save_npz_atomic(self.path(relative_path), **arrays)

  def cached(self, relative_path: str, compute: Callable[[], Mapping[str, np.ndarray]]
             ) -> dict[str, np.ndarray]:
    """The arrays in `workdir/relative_path` (.npz) if a finished stage left
    them there, else `compute()`'s, saved there first."""
    path = self.path(relative_path)
    if os.path.exists(path):
      self._reuses += 1
      return _read_cache(path)
    self._work += 1
    log.info("stage cache %s: computing", relative_path)
    arrays = dict(compute())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_npz_atomic(path, **arrays)
    return arrays


class Evaluation(Run):
  """What the task code sees when `evaluate_workdir` re-evaluates a workdir:
  `train(stage)` reads the stage's state back from its checkpoint (at
  `restore_step`, or the latest) and steps nothing, `cached` only reads,
  `record` leaves the training run's records as they are, and no
  timing.json is written. Only the state is restored: a stage's training
  data stays on the host."""

  def __init__(self, config, workdir: str, restore_step: int | None = None):
    super().__init__(config, workdir)
    self.restore_step = restore_step

  def train(self, stage: TrainingStage) -> Any:
    init = stage.init if stage.placement == "as_given" else _placed_init(
        stage, parallel.make_mesh(self.config))
    return restore_for_eval(_checkpointer(self, stage), init(), self.restore_step, self.workdir)

  def _read_previous_timing(self) -> dict:
    return {}   # an evaluation times nothing and writes no timing.json

  def record(self, relative_path: str, **arrays: np.ndarray) -> None:
    pass

  def cached(self, relative_path: str, compute: Callable[[], Mapping[str, np.ndarray]]
             ) -> dict[str, np.ndarray]:
    path = self.path(relative_path)
    if not os.path.exists(path):
      raise InputError(f"{self.workdir}: the stage that writes {path} has not finished; "
                       "nothing to evaluate yet")
    return _read_cache(path)


def _checkpointer(run: Run, stage: TrainingStage) -> Checkpointer:
  return Checkpointer(run.path(stage.checkpoint_dir or os.path.join(stage.name, "checkpoints")))


def _read_cache(path: str) -> dict[str, np.ndarray]:
  log.info("stage cache %s: reused", path)
  with np.load(path, allow_pickle=False) as f:
    return {k: f[k] for k in f.files}


def _prepare(task: Task, config) -> tuple[Any, float]:
  declared = registry.experiment(task.name)
  schema = declared.locked_schema()
  check_known_fields(config, schema)
  check_complete_fields(config, schema)
  ranges.check(config, declared.rules)
  start = time.time()
  data = task.prepare(config)
  return data, time.time() - start


def _finish(task: Task, run: Run, data, trained) -> dict[str, Any]:
  results = {"config": run.config.name, "seed": run.config.seed,
             **task.results(run, data, trained)}
  write_json_atomic(run.path("results.json"), results)
  if not isinstance(run, Evaluation):   # an evaluation's seconds are not the run's
    write_json_atomic(run.path("timing.json"), run.timing)
  writer = MetricWriter(run.workdir, suffix=".results")   # test metrics to TensorBoard too
  writer.write_results(0, results)
  writer.close()
  plot_training_curves(run.workdir)
  plot_results(run.workdir, results, task.headline)
  return results


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       hooks: Sequence[Hook] = ()) -> dict[str, Any]:
  """Runs config.experiment in `workdir` (resuming what is there); writes
  config.json, stages.json, metrics, checkpoints, timing.json, plots and
  results.json, and returns results.json's content."""
  task = get_task(config.experiment)
  data, data_seconds = _prepare(task, config)
  if task.check_workdir is not None:
    data = task.check_workdir(config, workdir, data)
  provenance.claim_stages(config, workdir, task.stages_for(config), task.inputs(config))
  os.makedirs(workdir, exist_ok=True)
  save_config(config, workdir)
  run = Run(config, workdir, writer=MetricWriter(workdir), hooks=hooks)
  run.timing["data_seconds"] = data_seconds
  try:
    trained = task.train(run, data)
  finally:
    run.writer.close()
  return _finish(task, run, data, trained)


def evaluate_workdir(config: ml_collections.ConfigDict, workdir: str,
                     step: int | None = None) -> dict[str, Any]:
  """Re-evaluates a finished or interrupted run from its checkpoints (the
  latest, or those at `step`); rewrites results.json and the plots."""
  task = get_task(config.experiment)
  data, _ = _prepare(task, config)
  run = Evaluation(config, workdir, restore_step=step)
  return _finish(task, run, data, (task.restore or task.train)(run, data))


def ensemble_results(config: ml_collections.ConfigDict, workdirs: Sequence[str]) -> dict[str, Any]:
  task = get_task(config.experiment)
  if task.ensemble is None:
    raise InputError(f"--ensemble_with: experiment {config.experiment!r} has no ensembles")
  return task.ensemble(config, workdirs)
