"""The `chloe` command line: every subcommand, one folder resolver, the run summary."""
