"""The code's shape: tasks are independent plug-ins, nothing private crosses
modules, and the public API is where the README says."""

import ast
import pathlib
import re

from conftest import ROOT

PACKAGE = pathlib.Path(ROOT) / "xmjax"


def imports(path):
  tree = ast.parse(path.read_text())
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module:
      yield node.module, [a.name for a in node.names]
    elif isinstance(node, ast.Import):
      for a in node.names:
        yield a.name, []


def test_no_task_imports_another_task():
  from xmjax.configs import registry
  tasks = {registry.experiment(name).task for name in registry.names()}
  for module in tasks:
    path = pathlib.Path(ROOT, *module.split(".")).with_suffix(".py")
    for imported, names in imports(path):
      targets = {imported} | {f"{imported}.{n}" for n in names}
      assert not (targets & (tasks - {module})), f"{module} imports {targets & tasks}"


def test_no_private_name_is_imported_across_modules():
  for path in list(PACKAGE.rglob("*.py")) + list(pathlib.Path(ROOT, "benchmarks").rglob("*.py")):
    for imported, names in imports(path):
      private = [n for n in names if n.startswith("_") and n != "__version__"]
      assert not private, f"{path.relative_to(ROOT)} imports {private} from {imported}"


def test_no_jitted_step_is_reached_through_wrapped():
  for path in list(PACKAGE.rglob("*.py")) + list(pathlib.Path(ROOT, "benchmarks").rglob("*.py")) \
      + list(pathlib.Path(ROOT, "tests").rglob("*.py")):
    if path.name != "test_structure.py":
      assert ".__wrapped__" not in path.read_text(), path


def test_racg_blocks_and_model_are_public():
  import xmjax.models
  import xmjax.nn
  for name in ("HeadTail", "graph_attention", "masked_softmax", "multi_head_similarity"):
    assert name in xmjax.nn.__all__ and hasattr(xmjax.nn, name)
  for name in ("RACG", "triplet_loss"):
    assert name in xmjax.models.__all__ and hasattr(xmjax.models, name)


def test_docstrings_point_only_at_files_the_repo_has():
  for path in list(PACKAGE.rglob("*.py")) + list(pathlib.Path(ROOT, "configs").glob("*.py")):
    text = path.read_text()
    # The shared spec files are not in the repo; docs/ pages of the same name are.
    for name in ("DESIGN.md", "PROTOCOLS.md", "racg.md", "rrnet.md", "sdml.md", "drsl.md"):
      for match in re.finditer(rf"(\S*){re.escape(name)}", text):
        cited = match.group(0).strip("`'\"(),.")
        assert cited.startswith("docs/") and (pathlib.Path(ROOT) / cited).exists(), \
            f"{path.relative_to(ROOT)} cites {cited}"
  assert (pathlib.Path(ROOT) / "docs" / "design.md").exists()
  assert (pathlib.Path(ROOT) / "docs" / "protocols.md").exists()


def test_each_experiment_declares_its_fields_once_in_a_light_module_that_mirrors_the_registries():
  """One registry: each experiment's schema, rules and task module in its
  `*_schema.py` beside the task, which imports no JAX; the choices it spells
  out equal the code registries they mirror; every rule names a field of
  the schema."""
  from xmjax.configs import ranges, registry
  from xmjax.configs.fields import get_field
  from xmjax.train import optim
  from xmjax.train.state import DTYPES
  assert ranges.OPTIMIZERS == optim.OPTIMIZERS and ranges.SCHEDULES == optim.SCHEDULES
  assert set(ranges.DTYPES) == set(DTYPES)
  from xmjax.models.cnn import BASELINES
  from xmjax.nn.aggregation import REDUCTIONS
  from xmjax.train.experiments import rrnet_classification_schema as rrnet
  from xmjax.train.rrnet_ablations import ABLATIONS
  assert set(rrnet.BASELINE_ARCHS) == set(BASELINES) and rrnet.AGGREGATIONS == REDUCTIONS
  assert rrnet.RRNET_ABLATIONS == tuple(ABLATIONS)
  from xmjax.models.drsl import SCORERS as DRSL_SCORERS
  from xmjax.nn.relation import FUSIONS, TILE_REDUCTIONS
  from xmjax.train import drsl_step
  from xmjax.train.experiments import drsl_retrieval_schema as drsl
  assert drsl.FUSIONS == FUSIONS and drsl.SELECTION == drsl_step.SELECTION
  assert drsl.TILE_REDUCTIONS == TILE_REDUCTIONS
  assert drsl.SCORERS == DRSL_SCORERS
  from xmjax.models.sdml import INITS
  from xmjax.train import sdml_step
  from xmjax.train.experiments import sdml_retrieval_schema as sdml
  assert sdml.INITS == INITS and sdml.SELECTION == sdml_step.SELECTION
  from xmjax.data.scenes import KINDS
  from xmjax.models.racg import SCORERS, TEXT_GRAPHS
  from xmjax.train.experiments import racg_retrieval_schema as racg
  assert racg.TEXT_GRAPHS == TEXT_GRAPHS and racg.SCENE_KINDS == tuple(KINDS)
  assert racg.BASELINES == tuple(s for s in SCORERS if s != "racg")

  text = (PACKAGE / "configs" / "ranges.py").read_text()
  assert "import jax" not in text
  assert [line for line in text.splitlines() if line.startswith("from xmjax")] == [
      "from xmjax.configs.fields import comma_list, get_field"]   # itself JAX-free
  schema_modules = sorted((PACKAGE / "train" / "experiments").glob("*_schema.py"))
  assert [p.name for p in schema_modules] == [f"{n}_schema.py" for n in sorted(registry.names())]
  for path in schema_modules:
    for imported, _ in imports(path):
      assert imported.split(".")[0] not in ("jax", "flax", "optax", "numpy"), (path, imported)
      assert not imported.startswith("xmjax.") or imported.startswith(
          ("xmjax.configs", "xmjax.train.experiments")), (path, imported)
  for name in registry.names():
    declared = registry.experiment(name)
    schema = declared.locked_schema()
    for field in declared.rules:
      get_field(schema, field)   # raises naming the field if the rule's field is not there
  # No central registry is left to edit: the task list, the schema names and
  # the rules are all the *_schema.py files.
  runner_text = (PACKAGE / "train" / "runner.py").read_text()
  assert "TASKS" not in runner_text and "RULES" not in text
  # No task repeats a range check of its own.
  for path in (PACKAGE / "train" / "experiments").glob("*.py"):
    assert "must be >= 1" not in path.read_text(), path


def test_every_shipped_config_is_in_range_and_a_bad_value_names_its_field():
  import pytest
  from conftest import load_config
  from xmjax.configs import ranges, registry
  from xmjax.errors import InputError
  for path in sorted((pathlib.Path(ROOT) / "configs").glob("*.py")):
    config = load_config(path.stem)
    ranges.check(config, registry.experiment(config.experiment).rules)
  for name, field, value, match in [
      ("sdml_mfeat", "model.balance", 1.5, r"config\.model\.balance: must be in \[0, 1\], got 1\.5"),
      ("drsl_mfeat", "train.batch_size", 0, r"config\.train\.batch_size: must be >= 1, got 0"),
      ("racg_scenes", "data.parser", "stanza", r"config\.data\.parser: unknown 'stanza'"),
      ("rrnet_filmtrust", "data.test_fraction", 1.0, r"config\.data\.test_fraction: must be in \(0, 1\)"),
      ("rrnet_digits", "dtype", "float16", r"config\.dtype: unknown dtype 'float16'"),
      ("rrnet_digits", "baseline.optimizer.schedule", "linear",
       r"config\.baseline\.optimizer\.schedule: unknown schedule 'linear'")]:
    config = load_config(name)
    *path, last = field.split(".")
    node = config
    for part in path:
      node = node[part]
    node[last] = value
    with pytest.raises(InputError, match=match):
      ranges.check(config, registry.experiment(config.experiment).rules)


def test_models_are_built_from_their_config_section_by_matching_names():
  from conftest import load_config
  from xmjax.models import DRSL, DSAE, RRNet, from_config
  config = load_config("drsl_mfeat")
  config.model.image_layers = [64, 32]                  # a list, as a command line may give
  drsl = from_config(DRSL, config.model, block_size=7)
  assert drsl.image_layers == (64, 32) and drsl.fusion == config.model.fusion
  assert drsl.block_size == 7                           # given wins over the section
  sdml = from_config(DSAE, load_config("sdml_mfeat").model, input_dim=5)
  assert (sdml.input_dim, sdml.code_dim, sdml.normalize_decoder) == (5, 512, True)
  rrnet_section = load_config("rrnet_digits").rrnet     # k1, num_steps, ... are not RRNet's
  rrnet = from_config(RRNet, rrnet_section, fixed_degree=False)
  assert (rrnet.latent, rrnet.hidden, rrnet.units) == (
      rrnet_section.latent, rrnet_section.hidden, rrnet_section.units)
  assert rrnet.name is None


def test_benchmarks_and_launchers_import_library_code_never_a_task():
  """What a benchmark or launcher needs (baselines, RACG's similarity
  program, SDML's step, data loaders) lives in the library; a task module
  is reached only through the runner's registry."""
  for folder in ("benchmarks", "launch"):
    for path in sorted((pathlib.Path(ROOT) / folder).rglob("*.py")):
      text = path.read_text()
      assert "xmjax.train.experiments" not in text, path


def test_task_modules_stay_thin():
  """A task is what is its own; the machinery it would repeat lives in the
  library (stages, steps, data families), so no module of the task layer
  grows past 250 lines."""
  sizes = {path.name: len(path.read_text().splitlines())
           for path in (PACKAGE / "train" / "experiments").glob("*.py")}
  assert max(sizes.values()) <= 250, sizes


def test_tasks_neither_place_data_on_devices_nor_ask_whether_they_evaluate():
  """The stage layer owns both: `Run.train` places every stage on the mesh
  (TrainingStage.placement) and an `Evaluation` (what a re-evaluation hands
  the same task code) restores it; a task with a procedure of its own for
  that has `Task.restore`."""
  for path in sorted((PACKAGE / "train" / "experiments").glob("*.py")):
    text = path.read_text()
    assert "evaluating" not in text and "isinstance(run" not in text, path
    for placement in ("parallel.replicate", "parallel.shard_rows", "device_put"):
      assert placement not in text, (path, placement)


def test_every_random_stream_is_named_in_one_place():
  # A bare number mixed into a seed is a stream nobody can see: two of them
  # may collide, and changing one silently changes results. They live in
  # xmjax.random_streams; library code names them.
  bare = [re.compile(r"default_rng\(\[\s*\w[\w.]*\s*,\s*\d"),        # default_rng([seed, 3])
          re.compile(r"fold_in\(\s*jax\.random\.key\("),              # fold_in(key(seed), 2)
          re.compile(r"epoch_batch_rows\(\s*\(\s*[\w.]+\s*,\s*\d")]    # ((seed, 1), ...)
  for path in PACKAGE.rglob("*.py"):
    if path.name == "random_streams.py":
      continue
    text = path.read_text()
    for pattern in bare:
      assert not pattern.search(text), f"{path.relative_to(ROOT)}: {pattern.search(text)[0]}"
  from xmjax import random_streams
  keys = ("BASELINE_INIT", "RRNET_INIT", "AUGMENT", "DRSL_INIT", "RACG_INIT", "RATING_INIT",
          "RATING_PREDICTION")
  numbers = [getattr(random_streams, name) for name in keys]
  assert len(set(numbers)) == len(numbers), dict(zip(keys, numbers))  # one JAX key, one purpose
  # Splits offset the rating streams: 100 + split never reaches 200 + split.
  assert random_streams.RATING_PREDICTION - random_streams.RATING_INIT >= 100
