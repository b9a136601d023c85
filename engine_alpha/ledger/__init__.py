"""The ledger: the append-only trade journal, PF and drawdown, and the pf_local.json report."""
