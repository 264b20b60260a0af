"""The built-in preservation plugins.

They are registered through the ``preserve.plugins`` entry-point group in the
project's ``pyproject.toml``, exactly as a third-party package would register
its own; the core never imports this package by name.
"""
