"""Migration of a results bundle's keys to new code versions, for runs whose computation did not change. Kept for
the record of how the shipped bundle got its keys; not part of any workflow. Used
- from the package-wide code hash (before uinfo.provenance) to the per-experiment code versions (6954d6b54e4e);
- when the checkerboard and CIFAR closures stopped including the Shannon estimator (they imported the estimators
  package, whose __init__ imports shannon.py): checkerboard 81b150f8b59c, CIFAR a61d86a5440f, verified against a
  checkout of 5f19a14 (the closures' sources differ from it only in two import lines);
- after the engine redesign (issue 13: uinfo/engine, goldfeld.py split, the probe's forward batch 256), from
  checkerboard 8ed74849f297, CIFAR 4ef2f870f5a1 and Goldfeld 30e9c598a500, verified against a checkout of af0486a
  with ``--sample 1 --also adb48d2cce556b99 9157ebcbe53ee6d7`` (the cheapest run of every experiment, and the
  cheapest checkerboard runs with pretraining + fresh readout and with a warm-up), beside small configs of every
  other path (GRU, CIFAR pretraining + train-fitted, CIFAR-100, SZT tanh and linear, panels) run by both trees.
  The old tree's own registry rebuilds the config (``OLD_RUN``), as module names changed. The probe's batch of 256
  came after that check: the cheapest CIFAR run, recomputed with it, equals its shipped records bit for bit;
- when the CIFAR config gained ``collapse`` (issue 16, the neural-collapse ratios; default False: the runs without
  it compute what they did), from CIFAR b6f7407d6000 with ``--experiment cifar --added-field collapse``: 22 entries
  re-keyed, each with a ``collapse`` column of False, and the terminal regime's 9 (now with ``collapse``) left out to
  recompute; verified against a checkout of 75e8829 with ``--sample 1``.

    .venv/bin/python scripts/migrate_bundle_keys.py --profile quick --from-version 6954d6b54e4e --store DIR
    git worktree add /tmp/old 8796e04
    .venv/bin/python scripts/migrate_bundle_keys.py --profile quick --verify DIR --sample 1 --old-tree /tmp/old

Step 1 (``--store``): every bundle entry of ``--from-version`` is unpacked; its key is checked against the old key
formula (the experiment, the config in its meta.json and the old version), then it is written into the store DIR
under its new key. Only the key changes: in meta.json (key, code_version, records_sha256, plus a ``migrated``
record of the old key and version) and in the records' ``run`` column (the checkerboard and CIFAR records carry
the key); every other byte of the records and extras is kept. ``python -m uinfo results export --store-dir DIR``
then writes the new bundle.

Step 2 (``--verify``): the claim that the computation did not change is tested, not assumed: ``--sample`` runs of
each experiment (the cheapest, by their recorded seconds) are recomputed from scratch with the current code into a
fresh store, and again with the old code (a checkout of the commit that computed the bundle) on the same machine:
the two must be identical, bit for bit, apart from the key and the wall-clock columns. (Against the shipped
records themselves they differ, whichever code recomputes them: the bundle was computed on another machine, and
other CPU kernels round differently; measured: 2.5e-4 checkerboard, 7e-13 CIFAR, 0.018 MNIST, 1.4e-17 single
neuron, 0.15 SZT.)
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from uinfo import registry
from uinfo.paths import file_sha256
from uinfo.report import bundle
from uinfo.store import Store, config_dict, config_key

CLOCK_COLUMNS = ("seconds", "train_seconds", "measure_seconds", "total_train_seconds", "total_measure_seconds")


def _old_key(experiment: str, fields: dict, version: str) -> str:
    """The key formula of ``uinfo.store.config_key`` on a config's fields (as the old class had them)."""
    payload = json.dumps({"experiment": experiment, "config": fields, "code": version},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _needed_keys(profile: str) -> set:
    """The keys of every run the profile's notebooks read, at the current code."""
    return {config_key(n.experiment, c) for n in registry.NOTEBOOKS.values() if n.experiment
            for c in n.configs(profile)}


def _add_columns(records: str, after: str, added: dict) -> str:
    """The records' CSV text with ``added`` ({column: text}) inserted after column ``after``; every other field's
    text kept as it was (parsed and written by the csv module, which does not convert values)."""
    rows = list(csv.reader(io.StringIO(records, newline="")))
    at = rows[0].index(after) + 1
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    for i, row in enumerate(rows):
        writer.writerow(row[:at] + (list(added) if i == 0 else list(added.values())) + row[at:])
    if _drop_columns(out.getvalue(), list(added)) != records:
        raise ValueError("adding columns would change other fields' text")
    return out.getvalue()


def _drop_columns(records: str, columns: list) -> str:
    rows = list(csv.reader(io.StringIO(records, newline="")))
    keep = [i for i, name in enumerate(rows[0]) if name not in columns]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([[row[i] for i in keep] for row in rows])
    return out.getvalue()


def migrate(profile: str, from_version: str, store_root: Path, experiments: tuple = (), added: tuple = ()) -> int:
    """See the module's docstring. ``added``: config fields the class gained since ``from_version``; an entry is
    migrated only if its config has them at their defaults (the new code then computes what the old code did), and
    only if the profile's notebooks still read it (others are listed and left out). The records gain each added
    field as a column (as ``tidy_records`` writes config fields), after the field before it in the class."""
    index = bundle.read_index(profile)
    needed = _needed_keys(profile) if added else None
    n = 0
    for row in index.itertuples(index=False):
        if row.code_version != from_version or (experiments and row.experiment not in experiments):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            archive = bundle.bundle_dir(profile) / row.archive
            if file_sha256(archive) != row.sha256:
                raise ValueError(f"{archive}: sha256 differs from the index")
            with tarfile.open(archive, "r:xz") as tar:
                for member in tar.getmembers():
                    (tmp / member.name).write_bytes(tar.extractfile(member).read())
            meta = json.loads((tmp / "meta.json").read_text())
            config = registry.config_from_fields(row.experiment, meta["config"])
            rebuilt = json.loads(json.dumps(config_dict(config)))
            new_fields = {name: rebuilt.pop(name) for name in added if name not in meta["config"]}
            defaults = {f.name: f.default for f in dataclasses.fields(config)}
            if any(defaults[name] != value for name, value in new_fields.items()):
                raise ValueError(f"{archive}: an added field is not at its default: {new_fields}")
            if config_dict(config) != meta["config"] and rebuilt != meta["config"]:
                raise ValueError(f"{archive}: the config does not round-trip")
            if _old_key(row.experiment, rebuilt, from_version) != row.key:
                raise ValueError(f"{archive}: key {row.key} is not the old key of its config and version")
            new_key = config_key(row.experiment, config)
            if needed is not None and new_key not in needed:
                print(f"left out (no notebook reads it at {profile}): {archive}")
                continue
            records = (tmp / "records.csv").read_text()
            if new_fields:
                names = [f.name for f in dataclasses.fields(config)]
                after = names[names.index(next(iter(new_fields))) - 1]
                records = _add_columns(records, after, {k: str(v) for k, v in new_fields.items()})
            if "run" in pd.read_csv(tmp / "records.csv", nrows=1).columns:
                before = records.count(row.key)
                records = records.replace(row.key, new_key)
                if before != len(pd.read_csv(tmp / "records.csv")):
                    raise ValueError(f"{archive}: the old key appears {before} times, not once per record")
            final = Store(store_root).path(row.experiment, config)
            final.mkdir(parents=True, exist_ok=False)
            (final / "records.csv").write_text(records)
            for f in tmp.iterdir():
                if f.name not in ("records.csv", "meta.json"):
                    (final / f.name).write_bytes(f.read_bytes())
            if new_fields:
                meta["config"] = {**meta["config"], **new_fields}
            meta.update(key=new_key, code_version=registry.experiment(row.experiment).code_version(),
                        records_sha256=file_sha256(final / "records.csv"),
                        migrated=dict(from_key=row.key, from_code_version=from_version, added_fields=list(new_fields),
                                      how="scripts/migrate_bundle_keys.py: key changed, records not recomputed"))
            (final / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
            n += 1
    return n


OLD_RUN = """
import sys, json, torch
torch.set_num_threads(1)
from uinfo import registry  # the old tree's: its module names and config classes
name, config, out = sys.argv[1:]
e = registry.experiment(name)
result = e.function()(registry.config_from_fields(name, json.loads(config)), False, None)
(result[0] if isinstance(result, tuple) else result).to_csv(out, index=False)
"""


def _max_difference(a: pd.DataFrame, b: pd.DataFrame) -> float:
    numeric = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
    return float(max(((a[c] - b[c]).abs().max() for c in numeric), default=0.0))


def verify(store_root: Path, sample: int, old_tree: Path, also: tuple = ()) -> int:
    """Recompute the ``sample`` cheapest runs of each experiment with the current code and, in a subprocess, with
    the old code (a checkout of the commit that computed the bundle, ``old_tree``), both on this machine and one
    thread: the two must be identical, bit for bit, apart from the key and the wall-clock columns. The largest
    difference from the migrated (shipped) records is printed beside: records computed on another machine differ
    in the last bits of floating point (BLAS kernels), whichever code computes them."""
    import os
    import subprocess

    import torch

    torch.set_num_threads(1)
    store = Store(store_root)
    metas = [json.loads(p.read_text()) for p in sorted(Path(store_root).glob("*/*/meta.json"))]
    problems = 0
    with tempfile.TemporaryDirectory() as fresh:
        for experiment in sorted({m["experiment"] for m in metas}):
            chosen = sorted((m for m in metas if m["experiment"] == experiment), key=lambda m: m.get("seconds", 0))
            named = [m for m in chosen[sample:] if {m["key"], m.get("migrated", {}).get("from_key")} & set(also)]
            for meta in chosen[:sample] + named:
                config = registry.config_from_fields(experiment, meta["config"])
                stored = store.load(experiment, config)
                now, _ = registry.stored_run(experiment, config, fresh)  # read back from the store's CSV
                out = Path(fresh) / f"old-{meta['key']}.csv"
                env = dict(os.environ, PYTHONPATH=str(old_tree), OMP_NUM_THREADS="1")
                subprocess.run([sys.executable, "-c", OLD_RUN, experiment, json.dumps(meta["config"]), str(out)],
                               env=env, check=True, cwd=old_tree)
                old = pd.read_csv(out)
                columns = [c for c in stored.columns if c not in CLOCK_COLUMNS and c != "run" and c in old.columns]
                added = [c for c in meta.get("migrated", {}).get("added_fields", [])]
                try:
                    pd.testing.assert_frame_equal(now[columns], old[columns], check_exact=True)
                    pd.testing.assert_frame_equal(now[added], stored[added], check_exact=True)
                    verdict = "current code = old code, bit for bit"
                except AssertionError as err:
                    problems += 1
                    verdict = f"DIFFERENT from the old code: {str(err).splitlines()[0:3]}"
                print(f"{experiment} {meta['key']} ({meta.get('seconds')} s when first computed), {len(stored)} "
                      f"records x {len(columns)} columns: {verdict}; largest difference from the shipped records "
                      f"{_max_difference(now[columns], stored[columns]):.2g}", flush=True)
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--from-version")
    ap.add_argument("--store", type=Path, help="step 1: write the migrated entries into this (empty) store")
    ap.add_argument("--experiment", nargs="*", default=(), help="with --store: only these experiments' entries "
                    "(an experiment sharing the old version whose computation did change is left to recompute)")
    ap.add_argument("--added-field", nargs="*", default=(), metavar="NAME",
                    help="with --store: config fields added since --from-version (at their defaults in the entries)")
    ap.add_argument("--verify", type=Path, help="step 2: recompute a sample of this store's entries and compare")
    ap.add_argument("--sample", type=int, default=1)
    ap.add_argument("--old-tree", type=Path, help="with --verify: a checkout of the commit that computed the bundle")
    ap.add_argument("--also", nargs="*", default=(), metavar="KEY",
                    help="with --verify: these entries too, by new or old key (runs that take paths the cheapest do not)")
    args = ap.parse_args(argv)
    if args.store:
        n = migrate(args.profile, args.from_version, args.store, tuple(args.experiment), tuple(args.added_field))
        print(f"{n} entries migrated into {args.store}")
    if args.verify:
        return 1 if verify(args.verify, args.sample, args.old_tree, tuple(args.also)) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
