"""The command line: one module per command group, on top of everything else.

``main`` is the ``monitor`` entry point (``python -m monitor`` is the same).
"""

from monitor.cli.main import main

__all__ = ["main"]
