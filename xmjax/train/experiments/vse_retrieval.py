"""VSE: an MLP per modality into one L2-normalised space, scored by cosine and
trained with VSE++'s hardest-negative hinge; items of one class are never
negatives of each other. Retrieval mAP beside CCA and the linear model."""

import flax.linen as nn
import jax
import optax

from xmjax import random_streams
from xmjax.models import triplet_loss
from xmjax.nn import MLP, l2_normalize
from xmjax.train import provenance
from xmjax.train.batching import EpochBatches
from xmjax.train.experiments import retrieval_common as common
from xmjax.train.runner import Task, TrainingStage, compiled
from xmjax.train.state import init_train_state


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


def train(run, data):
  c, (image, text) = run.config, data.modalities
  arrays = tuple(data.features("train", m) for m in (image, text)) + (data.labels("train", image),)
  batches = EpochBatches((c.seed, random_streams.VSE_BATCHES), len(arrays[2]), c.train.batch_size,
                         c.train.num_epochs)
  model, tx = VSE(tuple(c.model.layers)), optax.adam(c.train.learning_rate)
  init = lambda: init_train_state(model, tx, jax.random.key(c.seed), arrays[0][:1], arrays[1][:1])
  with run.timed("train"):   # data parallel over config.mesh: the runner places data and rows
    return run.train(TrainingStage(
        name="vse", init=init, step=train_step, data=arrays, batches=batches,
        num_steps=batches.num_steps, checkpoint_every=c.train.checkpoint_every,
        static={"margin": c.train.margin}))


def results(run, data, state):
  codes = compiled(state.apply_fn)({"params": state.params},
                                   *(data.features("test", m) for m in data.modalities))
  similarity = common.cosine_scores(dict(zip(data.modalities, codes)))
  return common.report(run, "vse", similarity, data, data.modalities)


TASK = Task(name="vse_retrieval", train=train, results=results,
            prepare=lambda config: common.load_data(config, num_modalities=2),   # checks the files
            stages=(provenance.Stage("vse", exclude=("eval.",)),),
            inputs=lambda config: {"vse": common.data_files(config)}, headline=("*/map_mean",))
