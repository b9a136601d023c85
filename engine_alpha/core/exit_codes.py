"""Chloe's exit codes: one table for the daemon and every subcommand (docs/operations.md).

systemd restarts the daemon only on `EXIT_FAILED` (`RestartPreventExitStatus=2 3 4`): the other
non-zero codes need the operator.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_JOURNAL_DAMAGED",
    "EXIT_OK",
    "EXIT_REPORTS_DIR",
]

EXIT_OK = 0
"""Done: the data ended or a stop was asked (daemon), or the command did what was asked."""

EXIT_FAILED = 1
"""Not done, and the message says why: a journal write failed (the daemon's fail-stop), a gate
refused an enable, `journal verify` found a difference, no asset could be researched."""

EXIT_CONFIG = 2
"""Bad input: the config (or a command's arguments) rejected, or a replay with no data at all."""

EXIT_JOURNAL_DAMAGED = 3
"""The journal (or its checkpoint) is damaged: nothing is written until the operator looks."""

EXIT_REPORTS_DIR = 4
"""The reports directory is not this daemon's: another holds its lock, or a file is not regular."""
