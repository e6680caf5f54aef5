"""One module per check (DESIGN.md "The catalogue"); each registers itself with
``tasks.registry.check``. See ``tasks/registry.py`` for the contract."""
