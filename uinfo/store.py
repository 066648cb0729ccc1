"""Results keyed by a hash of the full config and the code version; atomic writes; tidy CSV records.

An entry is a folder ``<root>/<experiment>/<key>/`` holding ``records.csv`` (one row per run x checkpoint x
layer x variable, loadable with ``pandas.read_csv``) and ``meta.json`` (the config, code version, timing). It is
written to a temporary folder and renamed into place, so a crash never leaves a half-written entry under its key.

Several processes may share a store (two ``./run_all.sh``, a notebook and a sweep): a run is computed under a
per-key lock (``<root>/<experiment>/.locks/<key>.lock``, an ``flock``), so it is computed once; a second process
asking for it waits, then reads the entry. The kernel releases the lock when its holder dies, however it dies, so
a killed process never blocks the others: the next one takes the lock over and resumes from the saved state.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

import pandas as pd

from . import faults, provenance
from .paths import file_sha256

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are then not protected against a second process on the same store
    fcntl = None



def run_code_version(config) -> str:
    """The code version of the runs of ``config``: a hash of the import closure of the module defining its class
    (``uinfo.provenance``), so each experiment's stored runs depend on its own code only."""
    return provenance.code_version(provenance.module_of(config))


def config_dict(config) -> dict:
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    raise TypeError(f"a config must be a dataclass or a dict, got {type(config).__name__}")


def config_key(experiment: str, config) -> str:
    """The store key: a hash of the experiment, the full config and the code version. Data enter through the
    config: generated data (the checkerboard) through its seed and settings; a config that reads data files
    carries their sha256 (``uinfo.tasks.images.load_images(...).source["sha256"]``) as a field."""
    payload = json.dumps({"experiment": experiment, "config": config_dict(config), "code": run_code_version(config)},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class Store:
    def __init__(self, root):
        self.root = Path(root)

    def path(self, experiment: str, config) -> Path:
        return self.root / experiment / config_key(experiment, config)

    def partial_path(self, experiment: str, config) -> Path:
        """Where an unfinished run keeps its resume state (removed once the entry is saved)."""
        return self.root / experiment / ".partial" / f"{config_key(experiment, config)}.pt"

    def lock_path(self, experiment: str, config) -> Path:
        return self.root / experiment / ".locks" / f"{config_key(experiment, config)}.lock"

    @contextlib.contextmanager
    def lock(self, experiment: str, config, wait_message: bool = True):
        """Hold the per-key lock of this run (blocking until it is free). The holder's pid is written into the
        lock file, only to say who is computing; the lock itself is the ``flock``, released by the kernel when
        the holder exits or is killed."""
        path = self.lock_path(experiment, config)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+") as fh:
            if fcntl is not None:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    if wait_message:
                        print(f"[store] waiting for {holder}, which is computing {experiment} run "
                              f"{path.stem}; its records will be read from the store", file=sys.stderr, flush=True)
                    fcntl.flock(fh, fcntl.LOCK_EX)
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
            fh.flush()
            try:
                yield
            finally:
                fh.seek(0)
                fh.truncate()
                if fcntl is not None:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self, experiment: str, config) -> pd.DataFrame | None:
        """The stored records of this config, or None if there are none (or the entry is unreadable, which
        is reported and treated as missing so that it is recomputed)."""
        path = self.path(experiment, config)
        records = path / "records.csv"
        if not (records.exists() and (path / "meta.json").exists()):
            return None
        try:
            meta = json.loads((path / "meta.json").read_text())
            if "records_sha256" in meta and file_sha256(records) != meta["records_sha256"]:
                raise ValueError(f"{records} does not match the sha256 its meta.json recorded (truncated or edited)")
            return pd.read_csv(records)
        except (ValueError, OSError, pd.errors.ParserError) as err:
            warnings.warn(f"store entry {path} is unreadable ({err}); it will be recomputed (delete the folder to "
                          "drop it now)")
            return None

    def load_extra(self, experiment: str, config, name: str) -> pd.DataFrame | None:
        """A second table saved with an entry (``extras`` of ``save``), e.g. representations at a few epochs."""
        path = self.path(experiment, config) / f"{name}.csv"
        return pd.read_csv(path) if path.exists() else None

    def save(self, experiment: str, config, records: pd.DataFrame, meta: dict | None = None,
             extras: dict[str, pd.DataFrame] | None = None) -> Path:
        final = self.path(experiment, config)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        try:
            records.to_csv(tmp / "records.csv", index=False)
            for name, table in (extras or {}).items():
                table.to_csv(tmp / f"{name}.csv", index=False)
            info = {"experiment": experiment, "key": final.name, "code_version": run_code_version(config),
                    "config": config_dict(config), "saved": time.strftime("%Y-%m-%dT%H:%M:%S"), **(meta or {}),
                    "records_sha256": file_sha256(tmp / "records.csv")}
            (tmp / "meta.json").write_text(json.dumps(info, indent=1, default=str))
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            faults.reached("store")
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            if err.errno == errno.ENOSPC:
                raise OSError(errno.ENOSPC, f"no space left on the device while writing the store entry {final}; "
                              "nothing was written under its key: free some space (or pass another store "
                              "folder) and run again") from err
            raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.partial_path(experiment, config).unlink(missing_ok=True)
        for stale in final.parent.glob(f".tmp-{final.name}-*"):  # left by a write that was killed half-way
            shutil.rmtree(stale, ignore_errors=True)
        return final

    def get_or_compute(self, experiment: str, config, compute: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, bool]:
        """The stored records of ``config``, computing and saving them first if needed. Returns (records,
        computed) where ``computed`` says whether anything was run. ``compute`` returns the records, or
        (records, extras) with extras a dict of further tables saved beside them. The computation runs under
        the run's lock (``lock``): a second process asking for the same run meanwhile waits and reads it."""
        found = self.load(experiment, config)
        if found is not None:
            return found, False
        with self.lock(experiment, config):
            found = self.load(experiment, config)  # computed by another process while this one waited
            if found is not None:
                return found, False
            t0 = time.perf_counter()
            result = compute()
            records, extras = result if isinstance(result, tuple) else (result, None)
            self.save(experiment, config, records, {"seconds": round(time.perf_counter() - t0, 2)}, extras)
        return self.load(experiment, config), True
