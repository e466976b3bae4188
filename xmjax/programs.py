"""The jitted programs xmjax dispatches, and a way to list the ones a run calls.

`jit(fn, static_argnames=...)` is `jax.jit` for the library's own top-level
programs (a task's train step, an evaluation, a baseline fit, the kNN
search); `compiled(fn, **static)` jits a step once per (function, static
argument names) and binds the static values. Both behave exactly as
`jax.jit` (same program, same numbers; nested in another jit they are
inlined like any jitted function).

`recording()` lists every such program a block of code calls, each with
the shapes and dtypes of its arguments and its static values, so the very
programs a real run dispatches can be compiled again for another device:
`benchmarks.targets.compile_program` compiles one for a TPU or the H100
without that device (tests/test_compile_targets.py does it for every
task). A call made while tracing another program is part of that program
and is not listed on its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from typing import Any, Callable, Iterator, Mapping

import jax

from xmjax.nn.aggregation import is_concrete

__all__ = ["Program", "compiled", "jit", "recording"]


@dataclasses.dataclass(frozen=True)
class Program:
  """One jitted program as a run called it.

  name: the function's qualified name (module.function).
  jitted: the `jax.jit` function (its `lower` takes `args` and `static`).
  args: the positional arguments, every array leaf a `jax.ShapeDtypeStruct`
    (weak types kept), other leaves as given.
  static: the static keyword arguments.
  """
  name: str
  jitted: Any
  args: tuple
  static: dict

  def lower(self, sharding=None):
    """`jitted.lower` on the recorded shapes, placed with `sharding` (a
    device of another backend, say) instead of where the run had them."""
    args = self.args
    if sharding is not None:
      args = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, weak_type=s.weak_type,
                                                         sharding=sharding)
                          if isinstance(s, jax.ShapeDtypeStruct) else s, args)
    return self.jitted.lower(*args, **self.static)


class _Recorder(list):
  """The programs of one `recording()` block, with their signatures seen."""

  def __init__(self):
    super().__init__()
    self.seen: set = set()


_RECORDERS: list[_Recorder] = []


def _abstract(leaf):
  if isinstance(leaf, jax.Array):
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, weak_type=getattr(leaf, "weak_type", False))
  if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):   # NumPy arrays and scalars
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype)
  return leaf


def _record(name: str, jitted, args: tuple, static: dict) -> None:
  if not all(is_concrete(leaf) for leaf in jax.tree.leaves(args)):
    return    # called inside another program's trace: part of that program
  program = Program(name, jitted, jax.tree.map(_abstract, args), dict(static))
  key = _signature(program)
  for recorder in _RECORDERS:
    if key not in recorder.seen:
      recorder.seen.add(key)
      recorder.append(program)


def _signature(program: Program):
  leaves, treedef = jax.tree.flatten(program.args)
  shapes = tuple((leaf.shape, str(leaf.dtype), leaf.weak_type)
                 if isinstance(leaf, jax.ShapeDtypeStruct) else ("value", repr(leaf))
                 for leaf in leaves)
  return (program.name, id(program.jitted), str(treedef), shapes,
          tuple(sorted((k, repr(v)) for k, v in program.static.items())))


class _Recordable:
  """A jitted function that, while `recording()` is active, lists its calls."""

  def __init__(self, jitted, name: str, static_argnames: tuple[str, ...]):
    self._jitted = jitted
    self._name = name
    self._static_argnames = static_argnames
    functools.update_wrapper(self, jitted)

  def __call__(self, *args, **kwargs):
    if _RECORDERS:
      static = {k: v for k, v in kwargs.items() if k in self._static_argnames}
      if len(static) == len(kwargs):   # traced keyword arguments: not a recordable signature
        _record(self._name, self._jitted, args, static)
    return self._jitted(*args, **kwargs)

  def lower(self, *args, **kwargs):
    return self._jitted.lower(*args, **kwargs)

  def __getattr__(self, name):   # eval_shape, trace, clear_cache, ...
    return getattr(self._jitted, name)


def _name(fn: Callable) -> str:
  """module.function; a bound method by its object's class (a flax model's
  `apply` as `xmjax.models.vse.VSE.apply`)."""
  fn = getattr(fn, "func", fn)
  owner = getattr(fn, "__self__", None)
  if owner is not None and not isinstance(owner, type):
    cls = type(owner)
    return f"{cls.__module__}.{cls.__qualname__}.{getattr(fn, '__name__', '?')}"
  return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def jit(fn: Callable | None = None, *, static_argnames=(), donate_argnums=(),
        compiler_options: Mapping[str, Any] | None = None):
  """`jax.jit(fn, static_argnames=..., donate_argnums=..., compiler_options=...)`,
  listed by `recording()` when called outside a trace. Usable as a
  decorator, with or without arguments."""
  if fn is None:
    return functools.partial(jit, static_argnames=static_argnames, donate_argnums=donate_argnums,
                             compiler_options=compiler_options)
  names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
  return _Recordable(jax.jit(fn, static_argnames=names, donate_argnums=donate_argnums,
                             compiler_options=dict(compiler_options or {}) or None),
                     _name(fn), names)


@functools.lru_cache(maxsize=None)
def _jit(fn: Callable, static_argnames: tuple[str, ...], donate: bool, options: tuple):
  return jit(fn, static_argnames=static_argnames, donate_argnums=0 if donate else (),
             compiler_options=dict(options))


def compiled(fn: Callable, *, donate: bool = False,
             compiler_options: Mapping[str, Any] | None = None, **static) -> Callable:
  """`fn` jitted with `static` bound as static keyword arguments (the first
  argument donated if `donate`; XLA `compiler_options`, e.g. a workaround
  for one backend's compiler, which the others ignore). One jitted function
  per (fn, static names, donate, options): stages that share a step
  (RR-Net's splits, RACG's variants) share its compile cache."""
  options = tuple(sorted((compiler_options or {}).items()))
  return functools.partial(_jit(fn, tuple(sorted(static)), donate, options), **static)


@contextlib.contextmanager
def recording() -> Iterator[list[Program]]:
  """Lists, in call order, each distinct program (function, argument shapes
  and dtypes, static values) called through `jit` or `compiled` in the block."""
  programs = _Recorder()
  _RECORDERS.append(programs)
  try:
    yield programs
  finally:
    _RECORDERS.remove(programs)
