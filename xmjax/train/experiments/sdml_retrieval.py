"""SDML multi-modal retrieval: m independent supervised autoencoders into a
common subspace fixed by P, trained together in one jitted step, each
selected by its own validation loss; new modalities train alone.

Workdir layout:
  sdml/P.npy                       the fixed projection (also inside every checkpoint)
  sdml/checkpoints/                the networks of config.data.modalities (one joint state)
  sdml/added/<name>/checkpoints/   a modality added later with --config.add_modality=<name>
  sdml/modalities.json             which modality lives in which checkpoint, and its width
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax import random_streams
from xmjax.configs.fields import comma_list
from xmjax.data.retrieval import RetrievalData
from xmjax.errors import InputError
from xmjax.models.sdml import orthogonal_projection
from xmjax.train import provenance
from xmjax.train.batching import epoch_batch_rows, steps_per_epoch
from xmjax.train.experiments import retrieval_common as common
from xmjax.train.files import save_npy_atomic, write_json_atomic
from xmjax.train.runner import Evaluation, Run, Task, TrainingStage, compiled
from xmjax.train.sdml_step import (encode, init_joint_state, learning_rates, make_networks,
                                   restore_joint, schedules, sdml_train_step,
                                   selected_params)


# The joint stage; a modality added later is a stage of its own
# ("added/<name>") that reads the joint stage's checkpoints.
BASE_STAGE = provenance.Stage("sdml", exclude=("eval.", "add_modality"))


def check_config(config) -> None:
  """What the field ranges (xmjax.configs.ranges) cannot say."""
  learning_rates(config, ())


def sdml_stage(config, data, modalities, projection, name: str,
               checkpoint_dir: str) -> TrainingStage:
  """The networks of `modalities` trained together in one jitted step (each
  on seeded per-epoch batches of its own rows, for its own number of
  epochs), data parallel over config.mesh; the stage lasts as long as the
  longest schedule."""
  t = config.train
  dims = {m: data.dim(m) for m in modalities}
  sizes = {m: len(data.labels("train", m)) for m in modalities}
  for m, n in sizes.items():
    if t.batch_size > n:
      raise InputError(f"config.train.batch_size: {t.batch_size} is larger than the {n} "
                       f"training rows of {m}")
    if not len(data.labels("valid", m)):
      raise InputError(f"config.data: modality {m!r} has no validation rows to select its "
                       f"network on (valid_fraction / valid_len)")
  plan = schedules(config, sizes)
  num_steps = max(entry.num_steps for entry in plan)
  networks = make_networks(config, dims)
  arrays = {split: {m: (data.features(split, m), data.labels(split, m)) for m in modalities}
            for split in ("train", "valid")}

  def batches(step):   # host rows; the runner splits them over config.mesh
    # A modality past its own schedule does not step; it is handed its last
    # batch so the program keeps one shape.
    return ({e.modality: epoch_batch_rows((config.seed, random_streams.modality_stream(e.modality)),
                                          sizes[e.modality], t.batch_size,
                                          min(step, e.num_steps - 1)) for e in plan},)

  return TrainingStage(
      name=name, checkpoint_dir=checkpoint_dir,
      init=lambda: init_joint_state(config, networks, projection, num_steps),
      step=sdml_train_step, data=(arrays["train"], arrays["valid"]), batches=batches,
      num_steps=num_steps,
      checkpoint_every=t.checkpoint_every,
      static={"balance": config.model.balance, "schedule": plan, "select_on": t.select_on})


def _paths(workdir):
  root = os.path.join(workdir, "sdml")
  return root, os.path.join(root, "P.npy"), os.path.join(root, "modalities.json")


@dataclasses.dataclass(frozen=True)
class Trained:
  """The data of every modality registered in the workdir (base and added)
  and, per modality, its selected parameters and the step they are from."""
  data: RetrievalData
  selected: dict[str, tuple[Any, int]]


def prepare(config) -> RetrievalData:
  check_config(config)
  data = common.load_data(config)
  if config.model.code_dim < data.num_classes:
    raise InputError(f"config.model.code_dim: {config.model.code_dim} is smaller than the "
                     f"{data.num_classes} classes")
  return data


def _load_registry(registry_path) -> dict:
  if not os.path.exists(registry_path):
    return {}
  with open(registry_path) as f:
    return json.load(f)


def _data_for(config, modalities):
  """The data set with exactly `modalities` (base and added ones)."""
  data_config = ml_collections.ConfigDict(config.to_dict())
  data_config.data.modalities = ",".join(modalities)
  return common.load_data(data_config)


def _best_params(config, workdir, registry, projection, fresh: dict) -> dict:
  """The selected networks of every registered modality: `fresh` ones as
  given, the others restored (read only) from their checkpoints."""
  best = dict(fresh)
  for checkpoint in sorted({e["checkpoint"] for m, e in registry.items() if m not in fresh}):
    members = {m: e["dim"] for m, e in registry.items() if e["checkpoint"] == checkpoint}
    restored = restore_joint(config, members, projection, os.path.join(workdir, checkpoint))
    best.update(selected_params(restored, members))
  return best


def check_workdir(config, workdir: str, data):
  """An added modality needs a trained run in `workdir` that lacks it, with
  the same feature widths and class count; returns the data of every
  modality then registered (checked before anything is written)."""
  if not config.add_modality:
    return data
  name = config.add_modality
  _, p_path, registry_path = _paths(workdir)
  registry = _load_registry(registry_path)
  if not registry or not os.path.exists(p_path):
    raise InputError(f"config.add_modality: {workdir} holds no trained SDML run "
                     f"({registry_path} not found); train the base modalities first")
  if name in registry:
    raise InputError(f"config.add_modality: {name!r} is already trained in {workdir} "
                     f"(modalities: {sorted(registry)})")
  data = _data_for(config, list(registry) + [name])
  for m, entry in registry.items():
    if data.dim(m) != entry["dim"]:
      raise InputError(f"{workdir}: modality {m!r} was trained on {entry['dim']}-d features, "
                       f"the data now has {data.dim(m)}")
  projection = np.load(p_path, allow_pickle=False)
  if projection.shape[1] != data.num_classes:
    raise InputError(f"{p_path}: P has {projection.shape[1]} columns for {data.num_classes} classes")
  return data


def stages(config) -> tuple[provenance.Stage, ...]:
  """The joint stage; an added modality is a stage of its own ("added/<name>")."""
  if config.add_modality:
    return (BASE_STAGE, provenance.Stage(f"added/{config.add_modality}", exclude=("eval.",)))
  return (BASE_STAGE,)


def restore(run: Evaluation, data: RetrievalData) -> Trained:
  """Every modality the workdir's registry names (base and added), read
  back from its checkpoint (the base at `run.restore_step` or the latest)."""
  config = run.config
  root, p_path, registry_path = _paths(run.workdir)
  if not os.path.exists(p_path):
    raise InputError(f"{run.workdir}: no SDML run here ({p_path} not found)")
  registry = _load_registry(registry_path) or {
      m: {"checkpoint": "sdml/checkpoints", "dim": data.dim(m)} for m in data.modalities}
  projection = np.load(p_path, allow_pickle=False)
  base = {m: e["dim"] for m, e in registry.items() if e["checkpoint"] == "sdml/checkpoints"}
  joint = restore_joint(config, base, projection, os.path.join(root, "checkpoints"),
                        run.restore_step)
  return Trained(_data_for(config, list(registry)), _best_params(
      config, run.workdir, registry, projection, selected_params(joint, base)))


def train(run: Run, data: RetrievalData) -> Trained:
  """Trains the base modalities jointly, or config.add_modality alone against
  the saved P (the other checkpoints are only read)."""
  config = run.config
  root, p_path, registry_path = _paths(run.workdir)
  registry = _load_registry(registry_path)
  if config.add_modality:
    name = config.add_modality
    projection = np.load(p_path, allow_pickle=False)
    checkpoints = f"sdml/added/{name}/checkpoints"
    with run.timed("train"):
      joint = run.train(sdml_stage(config, data, (name,), projection, f"sdml_add_{name}",
                                   checkpoints))
    best = _best_params(config, run.workdir, registry, projection, selected_params(joint, (name,)))
    registry[name] = {"checkpoint": checkpoints, "dim": data.dim(name)}
    write_json_atomic(registry_path, registry)
    return Trained(data, best)
  projection = orthogonal_projection(config.seed, config.model.code_dim, data.num_classes)
  os.makedirs(root, exist_ok=True)
  if not os.path.exists(p_path):
    save_npy_atomic(p_path, projection)
  with run.timed("train"):
    joint = run.train(sdml_stage(config, data, data.modalities, projection, "sdml",
                                 "sdml/checkpoints"))
  # Modalities added to this workdir earlier stay registered and evaluated.
  registry.update({m: {"checkpoint": "sdml/checkpoints", "dim": data.dim(m)}
                   for m in data.modalities})
  write_json_atomic(registry_path, registry)
  if set(registry) != set(data.modalities):
    data = _data_for(config, list(registry))
  return Trained(data, _best_params(config, run.workdir, registry, projection,
                                    selected_params(joint, data.modalities)))


def results(run: Run, data: RetrievalData, trained: Trained) -> dict[str, Any]:
  """Cosine retrieval between encoder outputs of every ordered modality
  pair (of every registered modality, `trained.data`), and the epoch (of
  its own) each network was selected at."""
  data, selected = trained.data, trained.selected
  # One order for a training run, a run that adds a modality and an
  # evaluation (which reads the registry back sorted), so that they sum
  # their means alike: config.data.modalities' order, then the added ones.
  listed = [m for m in comma_list(run.config.data.modalities) if m in selected]
  modalities = tuple(listed + sorted(set(selected) - set(listed)))
  networks = make_networks(run.config, {m: data.dim(m) for m in modalities})
  codes = {split: {} for split in ("test", "valid")}
  for split in codes:
    for m in modalities:
      codes[split][m] = np.asarray(compiled(encode, network=networks[m])(
          selected[m][0], jnp.asarray(data.features(split, m))))

  out = common.report(run, "sdml", common.cosine_scores(codes["test"]), data, modalities,
                      valid_similarity=common.cosine_scores(codes["valid"]))
  batch_size = run.config.train.batch_size
  for m in modalities:
    per_epoch = steps_per_epoch(len(data.labels("train", m)), batch_size)
    out[f"sdml/selected_epoch_{m}"] = selected[m][1] / per_epoch
  return out


TASK = Task(name="sdml_retrieval", prepare=prepare, train=train, results=results, stages=stages,
            inputs=lambda config: {"sdml": common.data_files(config)},
            check_workdir=check_workdir, restore=restore,
            headline=("*/map_mean",))
