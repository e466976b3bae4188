"""Stage provenance: a finished stage is reused only for the config that made it;
configs are data (loading one imports no JAX) and locked schemas."""

import json

import ml_collections
import pytest

from conftest import load_config, run_python
from xmjax.train import provenance
from xmjax.train.provenance import Stage, StageMismatch


def small_config():
  c = ml_collections.ConfigDict(dict(
      name="x", log_every=5, seed=0, mesh=dict(data=0),
      baseline=dict(num_epochs=2, checkpoint_every=10), rrnet=dict(num_candidates=10, num_steps=300),
      eval=dict(k=5), data=dict(path="")))
  return c


STAGES = (Stage("baseline", include=("baseline.", "data.", "seed")), Stage("rrnet", exclude=("eval.",)))


def test_fields_a_stage_depends_on():
  baseline, rrnet = STAGES
  assert baseline.depends_on("baseline.num_epochs") and baseline.depends_on("seed")
  assert not baseline.depends_on("rrnet.num_candidates")
  assert rrnet.depends_on("rrnet.num_candidates") and rrnet.depends_on("baseline.num_epochs")
  assert not rrnet.depends_on("eval.k")
  for ignored in ("name", "log_every", "baseline.checkpoint_every", "mesh.data"):
    assert not rrnet.depends_on(ignored)
  # A nested `name` is a choice (data set, optimizer), not the run's label.
  assert baseline.depends_on("data.name") and rrnet.depends_on("rrnet.optimizer.name")


def test_same_config_resumes_a_changed_one_stops_before_writing(tmp_path):
  config = small_config()
  provenance.claim_stages(config, str(tmp_path), STAGES)
  recorded = (tmp_path / "stages.json").read_text()
  # Resuming with the same config, other logging and another mesh is fine.
  again = small_config()
  again.log_every, again.mesh.data, again.eval.k = 1, 4, 50
  provenance.claim_stages(again, str(tmp_path), STAGES)
  changed = small_config()
  changed.rrnet.num_candidates, changed.rrnet.num_steps = 3, 50
  with pytest.raises(StageMismatch) as error:
    provenance.claim_stages(changed, str(tmp_path), STAGES)
  message = str(error.value)
  assert "'rrnet'" in message and "rrnet.num_candidates (10 -> 3)" in message
  assert "rrnet.num_steps (300 -> 50)" in message and "fresh --workdir" in message
  assert (tmp_path / "stages.json").read_text() == recorded


def test_an_input_file_that_changed_is_named(tmp_path):
  data = tmp_path / "data.npz"
  data.write_bytes(b"one")
  config = small_config()
  config.data.path = str(data)
  workdir = str(tmp_path / "w")
  provenance.claim_stages(config, workdir, STAGES)
  data.write_bytes(b"two!")
  with pytest.raises(StageMismatch, match=r"'baseline'.*input config\.data\.path"):
    provenance.claim_stages(config, workdir, STAGES)


def test_a_workdir_from_before_fingerprints_is_compared_as_a_whole(tmp_path):
  config = small_config()
  (tmp_path / "config.json").write_text(config.to_json_best_effort())
  other = small_config()
  other.seed = 1
  with pytest.raises(StageMismatch, match=r"before stage fingerprints.*seed \(0 -> 1\)"):
    provenance.claim_stages(other, str(tmp_path), STAGES)
  assert not (tmp_path / "stages.json").exists()
  provenance.claim_stages(config, str(tmp_path), STAGES)      # the same config: adopted
  assert set(json.loads((tmp_path / "stages.json").read_text())) == {"baseline", "rrnet"}


def test_loading_any_config_imports_no_jax():
  code = ("import glob, runpy, sys\n"
          "for path in sorted(glob.glob('configs/*.py')):\n"
          "  runpy.run_path(path)['get_config']()\n"
          "heavy = [m for m in ('jax', 'flax', 'optax', 'jraph', 'orbax') if m in sys.modules]\n"
          "print(heavy)\n")
  out = run_python(code, timeout=120)
  assert out.returncode == 0, out.stderr
  assert out.stdout.strip() == "[]"


def test_schemas_are_locked_and_suggest_the_field():
  config = load_config("rrnet_digits")
  with pytest.raises(AttributeError, match="num_candidates"):
    config.rrnet.num_candiates = 3   # misspelt
  with pytest.raises(TypeError):
    config.rrnet.num_candidates = "three"
