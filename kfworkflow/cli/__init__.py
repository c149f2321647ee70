"""The ``kfw`` command line: one module per noun; the only layer that prints."""
