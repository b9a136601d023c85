"""`python -m engine_alpha.research [options]`: the `chloe research` command on its own."""

from engine_alpha.research.cli import main

raise SystemExit(main())
