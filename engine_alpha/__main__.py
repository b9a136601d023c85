"""`python -m engine_alpha` runs the `chloe` command line."""

from engine_alpha.cli.app import main

raise SystemExit(main())
