"""Reviewers' check (issue 17): re-plot every notebook of a profile from the shipped bundle, without training, and
compare each notebook's claims with the committed ones. A commit that changes a result without regenerating its
outputs, or outputs drawn from runs of another code version, fails here, naming the notebook and the claim.

Statistics are compared to their printed precision (three significant digits, as in CLAIMS.md), outcomes and
claim texts exactly. It executes notebooks, so it sits beside the runner, above the report layer (which imports
neither)."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from . import registry
from .paths import default_figures
from .report import bundle

NUMBERS = ("estimate", "ci_low", "ci_high")
EXACT = ("claim", "outcome", "seeds", "sesoi", "predicts", "failed_precondition")


def _close(a, b, digits: int = 3) -> bool:
    """Equal to ``digits`` significant digits (half a unit of the last printed digit), or both missing."""
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    scale = max(abs(a), abs(b))
    return abs(a - b) <= 0.5 * 10 ** (math.floor(math.log10(scale)) - digits + 1) + 1e-12


def compare(committed_dir: Path, fresh_dir: Path, code=registry.code_versions, only=None) -> list[str]:
    """Differences between the committed claims files and freshly computed ones, one line each (empty: equal).
    ``code(notebook)`` gives the code versions the notebook's results must come from; ``only`` limits the
    comparison to these notebooks (those that were executed)."""
    problems = []
    keep = (lambda name: True) if only is None else set(only).__contains__
    committed = {p.stem: p for p in sorted(Path(committed_dir).glob("*.json")) if keep(p.stem)}
    fresh = {p.stem: p for p in sorted(Path(fresh_dir).glob("*.json")) if keep(p.stem)}
    for name in sorted(set(committed) | set(fresh)):
        if name not in fresh:
            problems.append(f"{name}: committed claims, but the notebook wrote none")
            continue
        if name not in committed:
            problems.append(f"{name}: no committed claims file (figures/claims/{name}.json)")
            continue
        old, new = json.loads(committed[name].read_text()), json.loads(fresh[name].read_text())
        want, have = code(name), old.get("code_version")
        have = have if isinstance(have, dict) else {}
        for experiment, version in want.items():
            if have.get(experiment) != version:
                problems.append(f"{name}: the committed claims come from {experiment} code version "
                                f"{have.get(experiment)}, the code is {version}: re-run ./run_all.sh --only {name}")
        if len(old["claims"]) != len(new["claims"]):
            problems.append(f"{name}: {len(old['claims'])} committed claims, {len(new['claims'])} now")
        for a, b in zip(old["claims"], new["claims"]):
            changed = [k for k in EXACT if a.get(k) != b.get(k)]
            changed += [k for k in NUMBERS if not _close(a.get(k), b.get(k))]
            if changed:
                problems.append(f"{name}: claim {a.get('claim')!r} changed in {', '.join(changed)}: "
                                + "; ".join(f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in changed))
    return problems


def _missing_runs(name: str, profile: str, store_root: Path) -> int:
    """How many of the notebook's stored runs at ``profile`` the store lacks (under the current code version)."""
    from .store import Store

    entry = registry.notebook(name)
    if entry.experiment is None:
        return 0
    store = Store(store_root)
    return sum(not store.path(entry.experiment, c).joinpath("records.csv").exists() for c in entry.configs(profile))


def check(profile: str = "quick", jobs: int = 2, bundle_root: Path | None = None,
          committed: Path | None = None) -> int:
    """Restore the profile's bundle into a temporary store, execute every notebook whose runs it holds against
    it, and compare the claims with ``figures/`` (the committed ones). A notebook whose runs are missing from the
    bundle, or bundled under an older code version of their experiment, is not executed (it would train): it is
    named, with the command that recomputes it. Returns the number of problems (printed)."""
    from . import runner

    index = bundle.read_index(profile, bundle_root)
    if index is None:
        print(f"[check] no bundle/{profile}: export one with python -m uinfo results export --profile {profile}")
        return 1
    with tempfile.TemporaryDirectory(prefix="uinfo-check-") as tmp:
        tmp = Path(tmp)
        counts = bundle.restore(profile, tmp / "store", bundle_root)
        problems = []
        for experiment, n in sorted(counts["stale"].items()):
            names = registry.notebooks_of(experiment)
            problems.append(f"bundle/{profile} holds {n} {experiment} run(s) of another code version than "
                            f"{bundle.current_version(experiment)} (the {experiment} code changed): "
                            f"recompute them with ./run_all.sh --only {' '.join(names)}, then python -m uinfo "
                            f"results export --profile {profile}")
        ready = []
        for name in runner.available():  # a notebook whose runs are not all bundled would train: not here
            missing = _missing_runs(name, profile, tmp / "store")
            if missing:
                problems.append(f"{name}: {missing} of its runs are not in bundle/{profile} under the current code "
                                f"version: compute them with ./run_all.sh --only {name}, then python -m uinfo "
                                f"results export --profile {profile}")
            else:
                ready.append(name)
        before = {p.parent for p in (tmp / "store").glob("*/*/meta.json")}
        failed = runner.run(ready, profile, {"store_dir": str(tmp / "store"), "figures_dir": str(tmp / "figures")},
                            out_dir=tmp / "executed", figures_dir=tmp / "figures", jobs=jobs)
        if failed:
            problems.append(f"{failed} notebook(s) failed to execute at {profile} from the bundle")
        trained = sorted({p.parent for p in (tmp / "store").glob("*/*/meta.json")} - before)
        if trained:
            problems.append(f"{len(trained)} run(s) were not in the bundle and had to be trained (e.g. "
                            f"{trained[0].parent.name}/{trained[0].name}): regenerate the bundle")
        problems += compare(committed or default_figures(profile) / "claims", tmp / "figures" / "claims", only=ready)
    for p in problems:
        print(f"[check] {p}")
    print(f"[check] {profile}: " + (f"{len(problems)} problem(s)" if problems else
                                   f"every notebook re-plotted from bundle/{profile}; its claims equal the "
                                   "committed ones"))
    return len(problems)

