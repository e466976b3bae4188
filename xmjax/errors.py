"""The one exception type for bad user input."""


class InputError(ValueError):
  """Malformed data, an impossible config or a bad argument.

  The message always starts with the file, config field or argument at fault,
  so that the last line a command prints tells the user what to fix.
  """
