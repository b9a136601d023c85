"""The operator's side: what is read, checked and recorded around the trading path.

Rollout gates and the distribution check, ledger history, events and the operator log, the
reports reader, the journal audit and `journal verify`, the reports-directory lock, log setup.
"""
