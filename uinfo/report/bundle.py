"""The shipped results bundle: the store entries behind a profile's figures, compressed, in the repository, so a
fresh clone re-plots every figure without training.

Layout: ``bundle/<profile>/<experiment>/<key>.tar.xz`` (one per store entry: its ``records.csv``, ``meta.json``
and extra tables, byte for byte) and ``bundle/<profile>/index.csv`` (one row per entry: experiment, key, code
version, config, sha256 of the archive; loadable with pandas). Why this format: the store's own files are CSV, so
an archive restores an entry byte-identical, and its ``records_sha256`` (in ``meta.json``) verifies it; xz makes
the CSV about 4x smaller than gzip's 3x, with nothing to install (Python's ``lzma``); Parquet would need pyarrow
and a conversion that is not byte-identical.

``export`` writes the entries of the current code version found in a store (run ``./run_all.sh --profile P``
into a store used for that profile only, then export it). ``restore`` copies the bundle's entries of the current
code version into a store where they are missing; entries of another code version are left out: the store
recomputes those runs, as it would without a bundle. Presentation only: outside the store's code hash.
"""
from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from ..paths import REPO_ROOT, file_sha256
from .. import registry

BUNDLE_ROOT = REPO_ROOT / "bundle"
INDEX = "index.csv"
# extra tables that no figure reads are left out to keep the bundle small: the MNIST similarity matrices are shown
# for seed 0 only (1.6 of their 4.8 MB); a restored entry of another seed has its records but no matrices
KEEP_EXTRA = {"mnist_cnn": lambda config: config.get("seed") == 0}


def bundle_dir(profile: str, root: Path | None = None) -> Path:
    return Path(root or BUNDLE_ROOT) / profile


def current_version(experiment: str) -> str | None:
    """The code version that an entry of ``experiment`` must have to be used (None: no such experiment)."""
    e = registry.EXPERIMENTS.get(experiment)
    return e.code_version() if e is not None else None


def _entries(store_root: Path, code=current_version):
    """(experiment, key folder, meta) of every complete entry of the current code version (``code(experiment)``)
    in the store."""
    for meta_path in sorted(Path(store_root).glob("*/*/meta.json")):
        folder = meta_path.parent
        if folder.name.startswith(".") or not (folder / "records.csv").exists():
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            continue
        if meta.get("code_version") == code(folder.parent.name):
            yield folder.parent.name, folder, meta


def export(profile: str, store_root: Path, root: Path | None = None, code=current_version) -> pd.DataFrame:
    """Write every entry of the current code version in ``store_root`` into the profile's bundle (replacing the
    bundle's previous contents) and return its index."""
    out = bundle_dir(profile, root)
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix=f".bundle-{profile}-", dir=out.parent if out.parent.exists() else None))
    try:
        for experiment, folder, meta in _entries(store_root, code):
            target = tmp / experiment / f"{folder.name}.tar.xz"
            target.parent.mkdir(parents=True, exist_ok=True)
            keep_extra = KEEP_EXTRA.get(experiment, lambda config: True)(meta.get("config", {}))
            with tarfile.open(target, "w:xz", preset=9) as tar:
                for f in sorted(folder.iterdir()):
                    if f.is_file() and (keep_extra or f.name in ("records.csv", "meta.json")):
                        info = tar.gettarinfo(str(f), arcname=f.name)
                        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                        with open(f, "rb") as fh:
                            tar.addfile(info, fh)
            rows.append(dict(experiment=experiment, key=folder.name, code_version=meta["code_version"],
                             config=json.dumps(meta.get("config", {}), sort_keys=True, default=str),
                             archive=f"{experiment}/{folder.name}.tar.xz", bytes=target.stat().st_size,
                             sha256=file_sha256(target)))
        if not rows:
            raise ValueError(f"no store entry of the current code version in {store_root}: run "
                             f"./run_all.sh --profile {profile} first (or pass --store-dir)")
        index = pd.DataFrame(rows)
        index.to_csv(tmp / INDEX, index=False)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return index


def read_index(profile: str, root: Path | None = None) -> pd.DataFrame | None:
    path = bundle_dir(profile, root) / INDEX
    if not path.exists():
        return None
    try:
        return pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as err:
        raise ValueError(f"the bundle index {path} is unreadable ({err}): restore it with git checkout, or delete "
                         f"{path.parent} to recompute every run") from err


def restore(profile: str, store_root: Path, root: Path | None = None, code=current_version) -> dict:
    """Copy the bundle's entries of the current code version (of their experiment) into ``store_root`` where they
    are missing. Returns counts: restored, present (already in the store), other_code (left out: recomputed when
    needed) and stale ({experiment: runs left out})."""
    index = read_index(profile, root)
    counts = dict(restored=0, present=0, other_code=0, stale={})
    if index is None:
        return counts
    for row in index.itertuples(index=False):
        if row.code_version != code(row.experiment):
            counts["other_code"] += 1
            counts["stale"][row.experiment] = counts["stale"].get(row.experiment, 0) + 1
            continue
        final = Path(store_root) / row.experiment / row.key
        if (final / "meta.json").exists() and (final / "records.csv").exists():
            counts["present"] += 1
            continue
        archive = bundle_dir(profile, root) / row.archive
        if not archive.exists() or file_sha256(archive) != row.sha256:
            raise ValueError(f"bundle archive {archive} is missing or does not match its sha256 in the index: "
                             f"restore it with git checkout, or delete {archive.parent.parent} to recompute")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{row.key}-", dir=final.parent))
        try:
            with tarfile.open(archive, "r:xz") as tar:
                for member in tar.getmembers():
                    if not member.isfile() or "/" in member.name or member.name.startswith("."):
                        raise ValueError(f"bundle archive {archive} holds an unexpected member {member.name!r}")
                    (tmp / member.name).write_bytes(tar.extractfile(member).read())
            meta = json.loads((tmp / "meta.json").read_text())
            if meta.get("records_sha256") and file_sha256(tmp / "records.csv") != meta["records_sha256"]:
                raise ValueError(f"bundle archive {archive}: records.csv does not match its meta.json sha256")
            if final.exists():
                shutil.rmtree(final)
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        counts["restored"] += 1
    return counts


def describe(counts: dict, profile: str) -> str:
    parts = [f"{counts['restored']} run(s) restored from bundle/{profile} (no training needed for them)"]
    if counts["present"]:
        parts.append(f"{counts['present']} already in the store")
    if counts["other_code"]:
        stale = ", ".join(f"{e} {n}" for e, n in sorted(counts.get("stale", {}).items()))
        parts.append(f"{counts['other_code']} bundled under another code version ({stale}: recomputed where a "
                     "notebook needs them)")
    return "[bundle] " + "; ".join(parts)

