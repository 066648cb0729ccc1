"""Test-only fault injection: a process that SIGKILLs itself at a chosen point, so kill-and-resume tests are
deterministic on a machine of any speed and load (a kill at a random wall-clock time is not).

``UINFO_TEST_KILL_AT="EVENT:K"`` (several comma-separated) makes the process kill itself, with a real SIGKILL, the
K-th time it reaches EVENT. Counts start at 1 in each process. The events:

- ``state``: right after a resume state was saved (at a checkpoint);
- ``phase``: right after the state saved between two training phases (e.g. pretraining and the main phase);
- ``state-write``: in the middle of writing a resume state (the temporary file is written, not yet renamed);
- ``store``: in the middle of writing a store entry (records written to the temporary folder, not yet renamed).

Unset (always, outside the tests), :func:`reached` costs one dictionary lookup.
"""
from __future__ import annotations

import os
import signal

ENV = "UINFO_TEST_KILL_AT"
EVENTS = ("state", "phase", "state-write", "store")
_counts: dict[str, int] = {}


def _plan(spec: str) -> dict[str, int]:
    plan = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        event, _, k = item.partition(":")
        if event not in EVENTS or not k.isdigit() or int(k) < 1:
            raise ValueError(f"{ENV}={spec!r}: each item must be EVENT:K with EVENT one of {EVENTS} and K >= 1, "
                             f"got {item!r}")
        plan[event] = int(k)
    return plan


def reached(event: str) -> None:
    """Count one occurrence of ``event``; SIGKILL this process if ``UINFO_TEST_KILL_AT`` asks for this one."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    _counts[event] = _counts.get(event, 0) + 1
    if _plan(spec).get(event) == _counts[event]:
        os.kill(os.getpid(), signal.SIGKILL)
