"""Baselines that are models, fit in closed form or full-batch: what the
papers' tables put beside RR-Net, DRSL and SDML, trained in the same run.

- `fit_cca`: linear CCA between two views (the retrieval tables' CCA row).
- `fit_logistic`: multinomial logistic regression, one fit per L2 strength
  (the supervised linear retrieval baseline).
- `fit_biased_mf`: biased matrix factorisation (the rating baseline every
  recommender paper compares with; `mf/` in RR-Net's rating results).
  Prediction r(u, i) = mu + b_u + b_i + p_u . q_i, mu the training mean
  rating (fixed), clipped to the rating range. Loss: the mean squared error
  over the training ratings plus l2 * the mean over those ratings of
  (|p_u|^2 + |q_i|^2 + b_u^2 + b_i^2), the per-occurrence regulariser of
  SGD matrix factorisation (Koren et al. 2009), minimised full-batch with
  Adam. The strength l2 is chosen per split from a grid by RMSE on a seeded
  `valid_fraction` of the training ratings (every candidate trained at
  once, vmapped), then the model is refitted on all training ratings.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from xmjax import programs, random_streams

__all__ = ["LINEAR_L2", "LINEAR_LEARNING_RATE", "LINEAR_STEPS", "fit_biased_mf", "fit_cca",
           "fit_logistic", "mf_predict"]


def fit_cca(xa: np.ndarray, xb: np.ndarray, components: int, ridge: float = 1e-4):
  """Linear CCA in closed form: whiten each view (covariance + ridge * mean
  variance on the diagonal), SVD of the whitened cross-covariance; returns
  (mean_a, W_a, mean_b, W_b) with W (d, components), each canonical variate
  scaled by its canonical correlation so the cosine of the common space
  weights well-correlated directions more (Gong et al., IJCV 2014). The
  canonical directions equal scikit-learn's iterative NIPALS where that
  converges; this takes milliseconds."""
  xa, xb = np.asarray(xa, np.float64), np.asarray(xb, np.float64)
  mean_a, mean_b = xa.mean(0), xb.mean(0)
  xa, xb = xa - mean_a, xb - mean_b
  n = len(xa)

  def inverse_sqrt(cov):
    cov = cov + ridge * np.trace(cov) / len(cov) * np.eye(len(cov)) + 1e-12 * np.eye(len(cov))
    values, vectors = np.linalg.eigh(cov)
    return (vectors / np.sqrt(np.maximum(values, 1e-12))) @ vectors.T

  whiten_a, whiten_b = inverse_sqrt(xa.T @ xa / n), inverse_sqrt(xb.T @ xb / n)
  u, rho, vt = np.linalg.svd(whiten_a @ (xa.T @ xb / n) @ whiten_b, full_matrices=False)
  weight = rho[:components]
  return (mean_a, whiten_a @ u[:, :components] * weight, mean_b,
          whiten_b @ vt[:components].T * weight)


# The supervised linear baseline: L2 strengths tried per modality (chosen on
# the validation split), full-batch Adam steps and rate.
LINEAR_L2 = (1e-5, 1e-4, 1e-3, 1e-2)
LINEAR_STEPS = 300
LINEAR_LEARNING_RATE = 0.05


@programs.jit(static_argnames=("num_classes", "steps"))
def fit_logistic(x, labels, l2, *, num_classes: int, steps: int = LINEAR_STEPS,
                 learning_rate: float = LINEAR_LEARNING_RATE):
  """Multinomial logistic regression on (n, d) standardised features, one
  fit per L2 strength in `l2` (vmapped), from zero weights with full-batch
  Adam. Rows with label < 0 (unlabelled) are left out. Returns (W (L, d, c),
  b (L, c))."""
  labelled = (labels >= 0).astype(jnp.float32)
  onehot = jax.nn.one_hot(labels, num_classes)
  tx = optax.adam(learning_rate)

  def fit(strength):
    params = (jnp.zeros((x.shape[1], num_classes)), jnp.zeros((num_classes,)))

    def loss_fn(p):
      w, b = p
      nll = -jnp.sum(onehot * jax.nn.log_softmax(x @ w + b), axis=-1)
      return jnp.sum(nll * labelled) / jnp.maximum(labelled.sum(), 1) + strength * jnp.sum(w * w)

    def step(carry, _):
      p, opt = carry
      grads = jax.grad(loss_fn)(p)
      updates, opt = tx.update(grads, opt, p)
      return (optax.apply_updates(p, updates), opt), None

    (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
    return params

  return jax.vmap(fit)(jnp.asarray(l2, jnp.float32))


# Biased matrix factorisation.


def _init(key, num_users: int, num_items: int, rank: int) -> dict:
  ku, ki = jax.random.split(key)
  return {"user": 0.1 * jax.random.normal(ku, (num_users, rank)),
          "item": 0.1 * jax.random.normal(ki, (num_items, rank)),
          "user_bias": jnp.zeros((num_users,)), "item_bias": jnp.zeros((num_items,))}


def mf_predict(params: dict, mean: jax.Array, users: jax.Array, items: jax.Array) -> jax.Array:
  """Unclipped predictions for (user, item) pairs."""
  return (mean + params["user_bias"][users] + params["item_bias"][items]
          + jnp.sum(params["user"][users] * params["item"][items], axis=-1))


def _loss(params, mean, users, items, ratings, weights, l2):
  error = mf_predict(params, mean, users, items) - ratings
  penalty = (jnp.sum(params["user"][users] ** 2, -1) + jnp.sum(params["item"][items] ** 2, -1)
             + params["user_bias"][users] ** 2 + params["item_bias"][items] ** 2)
  return jnp.sum(weights * (error ** 2 + l2 * penalty)) / jnp.sum(weights)


@programs.jit(static_argnames=("num_users", "num_items", "rank", "num_steps",
                               "learning_rate"))
def _fit(key, mean, users, items, ratings, weights, l2, *, num_users, num_items, rank,
         num_steps, learning_rate):
  """Full-batch Adam on the weighted ratings; one model per l2 (vmapped)."""
  optimizer = optax.adam(learning_rate)

  def one(l2):
    params = _init(key, num_users, num_items, rank)

    def step(carry, _):
      params, opt_state = carry
      grads = jax.grad(_loss)(params, mean, users, items, ratings, weights, l2)
      updates, opt_state = optimizer.update(grads, opt_state, params)
      return (optax.apply_updates(params, updates), opt_state), None

    (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, num_steps)
    return params

  return jax.vmap(one)(l2)


def fit_biased_mf(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, *,
                  num_users: int, num_items: int, rating_range: tuple[float, float],
                  rank: int, l2_grid, num_steps: int, learning_rate: float,
                  valid_fraction: float, seed: int):
  """Trains biased MF on the given (training) ratings.

  Returns (predict(users, items) -> clipped ratings as float64 NumPy, the
  chosen l2, {l2: validation RMSE}).
  """
  users, items = np.asarray(users, np.int32), np.asarray(items, np.int32)
  ratings = np.asarray(ratings, np.float32)
  choices = [float(v) for v in l2_grid]
  grid = np.asarray(choices, np.float32)
  fit = functools.partial(_fit, num_users=num_users, num_items=num_items, rank=rank,
                          num_steps=num_steps, learning_rate=learning_rate)
  key = jax.random.key(seed)
  low, high = rating_range
  valid_rmse = {}
  chosen = choices[0]
  if len(grid) > 1:
    rng = random_streams.generator(seed, random_streams.MF_VALIDATION)
    valid = rng.random(len(ratings)) < valid_fraction
    if valid.any() and (~valid).any():
      mean = np.float32(ratings[~valid].mean())
      params = fit(key, mean, users, items, ratings, (~valid).astype(np.float32), grid)
      predicted = jax.vmap(lambda p: mf_predict(p, mean, users[valid], items[valid]))(params)
      errors = np.clip(np.asarray(predicted, np.float64), low, high) - ratings[valid]
      rmse = np.sqrt(np.mean(errors ** 2, axis=1))
      valid_rmse = {l2: float(e) for l2, e in zip(choices, rmse)}
      chosen = choices[int(np.argmin(rmse))]
  mean = np.float32(ratings.mean())
  params = fit(key, mean, users, items, ratings, np.ones(len(ratings), np.float32),
               np.asarray([chosen], np.float32))
  params = jax.tree.map(lambda x: x[0], params)

  def predict(query_users, query_items):
    out = mf_predict(params, mean, jnp.asarray(query_users, jnp.int32),
                     jnp.asarray(query_items, jnp.int32))
    return np.clip(np.asarray(out, np.float64), low, high)

  return predict, chosen, valid_rmse
