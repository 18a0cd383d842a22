"""``python -m tentacle_ha``: the command line."""

from tentacle_ha.cli import main

raise SystemExit(main())
