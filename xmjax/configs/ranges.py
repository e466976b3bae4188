"""Every range and choice a config field must satisfy, in one place.

A rule per field, per task, checked by the runner right after the schema
(unknown fields) and before any data is loaded, so a bad value fails with
`config.<field>: ...` before anything is read or written. Like the schemas,
this module is data and imports no JAX: the choices that mirror a code
registry (optimizers, schedules, aggregations, CNN baselines, fusions) are
spelled out here, and a test keeps each equal to its registry.

Checks that need the data (k1 below the number of nodes in a graph, a batch
no larger than the training rows, widths that must line up) stay in each
task's `prepare`, next to the data they read.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from xmjax.configs.fields import comma_list, get_field

__all__ = ["AGGREGATIONS", "BASELINE_ARCHS", "DTYPES", "FUSIONS", "OPTIMIZERS", "RULES",
           "RRNET_ABLATIONS", "RACG_BASELINES", "SCHEDULES", "TEXT_GRAPHS", "DRSL_SCORERS", "DRSL_SELECTION", "SDML_INITS", "SDML_SELECTION", "Rule", "at_least", "check", "greater_than", "inside", "one_of", "subset_of"]

# Mirrors of code registries (tests/test_structure.py keeps them equal).
OPTIMIZERS = ("sgd", "adam", "adamw")                        # xmjax.train.optim.OPTIMIZERS
SCHEDULES = ("constant", "cosine", "warmup_cosine", "step")  # xmjax.train.optim.SCHEDULES
AGGREGATIONS = ("mean", "sum", "max")                        # xmjax.nn.aggregation.REDUCTIONS
# xmjax.models.cnn.BASELINES:
BASELINE_ARCHS = ("digits_cnn", "resnet18", "resnet50", "mobilenet_v2", "spec_cnn", "mlp")
FUSIONS = ("concat", "add", "sub", "mul")                    # xmjax.nn.relation.FUSIONS
DTYPES = ("bfloat16", "float32")                             # xmjax.train.state.DTYPES
SDML_INITS = ("pytorch", "flax")                             # xmjax.models.sdml.INITS
SDML_SELECTION = ("supervised", "loss")        # xmjax.train.sdml_step.SELECTION
DRSL_SELECTION = ("valid_map", "valid_loss", "last")  # xmjax.train.drsl_step.SELECTION
DRSL_SCORERS = ("relation", "cosine")                  # xmjax.models.drsl.SCORERS
TEXT_GRAPHS = ("sparse", "dense")                            # xmjax.models.racg.TEXT_GRAPHS
RACG_BASELINES = ("vse", "scan_t2i")                  # xmjax.models.racg.SCORERS but "racg"
# xmjax.train.rrnet_ablations.ABLATIONS:
RRNET_ABLATIONS = ("inter_only", "no_instance_graph", "no_label_graph", "mlp_reranker")


@dataclasses.dataclass(frozen=True)
class Rule:
  """`ok(value)` must hold; otherwise the error says `config.<field>: <problem>`."""
  ok: Callable[[Any], bool]
  problem: Callable[[Any], str]


def at_least(low) -> Rule:
  return Rule(lambda v: v >= low, lambda v: f"must be >= {low}, got {v}")


def greater_than(low) -> Rule:
  return Rule(lambda v: v > low, lambda v: f"must be > {low}, got {v}")


def inside(low, high, *, closed: bool = False) -> Rule:
  """low < v < high (low <= v <= high if closed)."""
  if closed:
    return Rule(lambda v: low <= v <= high, lambda v: f"must be in [{low}, {high}], got {v}")
  return Rule(lambda v: low < v < high, lambda v: f"must be in ({low}, {high}), got {v}")


def one_of(*choices, kind: str = "") -> Rule:
  label = f"{kind} " if kind else ""
  return Rule(lambda v: v in choices,
              lambda v: f"unknown {label}{v!r}; choose one of {choices}")


def subset_of(*choices) -> Rule:
  """A comma-separated list ("" = none) of distinct names from `choices`."""
  def names(v):
    return list(comma_list(v))
  return Rule(lambda v: set(names(v)) <= set(choices) and len(set(names(v))) == len(names(v)),
              lambda v: f"expected distinct names from {choices}, comma-separated, got {v!r}")


def _positive(*fields: str) -> dict[str, Rule]:
  return {field: at_least(1) for field in fields}


def _header() -> dict[str, Rule]:
  return {"dtype": one_of(*DTYPES, kind="dtype"), "log_every": at_least(1)}


def _optimizer(prefix: str) -> dict[str, Rule]:
  return {f"{prefix}.name": one_of(*OPTIMIZERS, kind="optimizer"),
          f"{prefix}.schedule": one_of(*SCHEDULES, kind="schedule"),
          f"{prefix}.learning_rate": greater_than(0)}


def _rrnet_model() -> dict[str, Rule]:
  return {"rrnet.aggregation": one_of(*AGGREGATIONS),
          "rrnet.loss_reduction": one_of("mean", "sum"),
          **_optimizer("rrnet.optimizer"),
          **_positive("rrnet.num_steps", "rrnet.checkpoint_every", "rrnet.latent",
                      "rrnet.hidden")}


def _rrnet_on_instances() -> dict[str, Rule]:
  """RR-Net over instance and label nodes (classification, folds)."""
  return {**_rrnet_model(), "rrnet.label_features": one_of("onehot", "random", "text", "file"),
          **_positive("rrnet.pad_multiple")}


def _retrieval_train() -> dict[str, Rule]:
  return _positive("train.batch_size", "train.num_epochs", "train.checkpoint_every")


RULES: dict[str, dict[str, Rule]] = {
    "rrnet_classification": {
        **_header(), **_rrnet_on_instances(),
        "baseline.arch": one_of(*BASELINE_ARCHS, kind="architecture"),
        "rrnet.ablations": subset_of(*RRNET_ABLATIONS),
        "baseline.width": greater_than(0),
        "data.max_per_class": at_least(0),
        **_optimizer("baseline.optimizer"),
        **_positive("baseline.num_epochs", "baseline.batch_size", "baseline.eval_batch_size",
                    "baseline.checkpoint_every"),
    },
    "rrnet_folds": {**_header(), **_rrnet_on_instances()},
    "rrnet_ratings": {
        **_header(), **_rrnet_model(),
        "data.name": one_of("filmtrust", "ciao", "synthetic", kind="data set"),
        "data.test_fraction": inside(0, 1),
        "rrnet.inter": one_of("all_items", "rated", "rated_sampled"),
        "rrnet.unrated_per_user": at_least(0),
        "rrnet.edge_chunk_size": at_least(0),
        "rrnet.node_attributes": one_of("random", "ratings"),
        "rrnet.attribute_layout": one_of("dense", "sparse"),
        "rrnet.target_fraction": Rule(lambda v: 0 <= v < 1,
                                      lambda v: f"must be in [0, 1), got {v}"),
        "rrnet.prediction_draws": at_least(0),
        "mf.learning_rate": greater_than(0),
        "mf.valid_fraction": inside(0, 1),
        **_positive("data.num_splits", "rrnet.node_dim", "rrnet.edge_budget", "mf.rank",
                    "mf.num_steps",
                    "rrnet.edge_batch_size"),
    },
    "drsl_retrieval": {
        **_header(), **_retrieval_train(),
        "model.fusion": one_of(*FUSIONS),
        "model.scorer": one_of(*DRSL_SCORERS),
        "train.select_on": one_of(*DRSL_SELECTION),
        **_optimizer("train.optimizer"),
    },
    "sdml_retrieval": {
        **_header(), **_retrieval_train(),
        "model.balance": inside(0, 1, closed=True),
        "model.initializer": one_of(*SDML_INITS),
        "train.select_on": one_of(*SDML_SELECTION),
        "train.learning_rate": greater_than(0),
        **_positive("train.validate_every_epochs"),
    },
    "racg_retrieval": {
        **_header(), **_optimizer("train.optimizer"),
        "data.name": one_of("scenes", "scan", kind="data set"),
        "data.parser": one_of("none", "spacy"),
        "data.scenes.kind": one_of("relational", "swap", kind="scenes kind"),
        "train.baselines": subset_of(*RACG_BASELINES),
        "model.text_graph": one_of(*TEXT_GRAPHS, kind="text graph"),
        **_retrieval_train(),
        **_positive("model.image_block", "model.eval_image_block", "model.eval_caption_block",
                    "data.max_length"),
    },
}


def check(config, experiment: str) -> None:
  """Raises InputError naming the first field of `config` outside its range
  (tasks without rules here pass)."""
  for field, rule in RULES.get(experiment, {}).items():
    value = get_field(config, field)
    try:
      ok = rule.ok(value)
    except TypeError:
      ok = False
    if not ok:
      from xmjax.errors import InputError
      raise InputError(f"config.{field}: {rule.problem(value)}")
