"""The cli wing: the ``tentacle-ha`` command line.

`main` and the single-file commands (``_main``), the ``fleet`` commands
(``_fleet``), what commands share (``_util``) and the demo (``_demo``).

May import: every other wing; nothing imports it but ``tentacle_ha.__main__``.
"""

from tentacle_ha.cli._main import main

__all__ = [
    "main",
]
