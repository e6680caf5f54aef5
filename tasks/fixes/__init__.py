"""One module per fix (DESIGN.md "The catalogue"); each registers itself with
``tasks.fix.fix``. See ``tasks/fix.py`` for the contract."""
