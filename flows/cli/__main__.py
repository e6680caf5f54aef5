"""``python -m flows.cli``: the same as the ``pullfix`` console script."""

from flows.cli import app

app(prog_name="pullfix")
