"""Where things are, in one place: the repository root, the default results store, figures and data folders;
and the file checksum that the store and the data layer both use. Imports nothing of the package."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_ENV = "UINFO_DATA"
DATA_FORMAT_DOC = "README.md, section \"Data files\""  # where the arrays-file format is described


def default_store() -> Path:
    return REPO_ROOT / "results"


def default_figures(profile: str) -> Path:
    """``figures/`` for the default profile (quick), ``figures/<profile>/`` for the others."""
    return REPO_ROOT / "figures" if profile == "quick" else REPO_ROOT / "figures" / profile


def data_folder(data_dir=None) -> Path:
    """``data_dir`` if given, else ``$UINFO_DATA``, else ``<repo>/data``."""
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return REPO_ROOT / "data"


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()
