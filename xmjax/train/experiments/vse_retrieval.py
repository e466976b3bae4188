"""VSE: an MLP per modality into one L2-normalised space, scored by cosine and
trained with VSE++'s hardest-negative hinge; items of one class are never
negatives of each other. Retrieval mAP beside CCA and the linear model."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from xmjax import random_streams
from xmjax.errors import InputError
from xmjax.models import triplet_loss
from xmjax.nn import MLP, l2_normalize
from xmjax.train import provenance
from xmjax.train.batching import epoch_batch_rows, steps_per_epoch
from xmjax.train.experiments import retrieval_common as common
from xmjax.train.runner import Task, TrainingStage, compiled
from xmjax.train.state import create_train_state


class VSE(nn.Module):
  layers: tuple[int, ...]

  @nn.compact
  def __call__(self, images, texts):
    return (l2_normalize(MLP(self.layers, name="image")(images)),
            l2_normalize(MLP(self.layers, name="text")(texts)))


def train_step(state, images, texts, labels, rows, *, margin):
  def loss_fn(params):
    a, b = state.apply_fn({"params": params}, images[rows], texts[rows])
    same_class = labels[rows][:, None] == labels[rows][None, :]
    return triplet_loss(a @ b.T, same_class, margin=margin, aux_weight=0.0)[0]
  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def prepare(config):
  data = common.load_data(config)   # checks the format, files and modalities
  if len(data.modalities) != 2:
    raise InputError(f"config.data.modalities: VSE relates two modalities, got {data.modalities}")
  return data, *data.modalities


def train(run, prepared):
  (data, image, text), t = prepared, run.config.train
  arrays = [jnp.asarray(data.features("train", image)), jnp.asarray(data.features("train", text)),
            jnp.asarray(data.labels("train", image))]
  num_steps = t.num_epochs * steps_per_epoch(len(arrays[2]), t.batch_size)
  model, tx = VSE(tuple(run.config.model.layers)), optax.adam(t.learning_rate)
  init = lambda: create_train_state(model.apply, model.init(
      jax.random.key(run.config.seed), arrays[0][:1], arrays[1][:1])["params"], tx)
  with run.timed("train"):   # data parallel over config.mesh: the runner places data and rows
    return run.train(TrainingStage(
        name="vse", init=init, step=train_step, num_steps=num_steps, data=tuple(arrays),
        batches=lambda step: (epoch_batch_rows(
            (run.config.seed, random_streams.VSE_BATCHES), len(arrays[2]), t.batch_size, step),),
        checkpoint_every=t.checkpoint_every, static={"margin": t.margin}))


def results(run, prepared, state):
  data, image, text = prepared
  a, b = compiled(state.apply_fn)({"params": state.params}, data.features("test", image),
                                  data.features("test", text))
  similarity = lambda q, _: jax.device_get(a @ b.T if q == image else b @ a.T)
  return common.report(run, "vse", similarity, data, (image, text))


TASK = Task(name="vse_retrieval", prepare=prepare, train=train, results=results,
            stages=(provenance.Stage("vse", exclude=("eval.",)),),
            inputs=lambda config: {"vse": common.data_files(config)}, headline=("*/map_mean",))
