"""Reviewers' check (issue 17): re-plot every notebook of a profile from the shipped bundle, without training, and
compare each notebook's claims with the committed ones. A commit that changes a result without regenerating its
outputs, or outputs drawn from runs of another code version, fails here, naming the notebook and the claim.

Statistics are compared to their printed precision (three significant digits, as in CLAIMS.md), outcomes and
claim texts exactly. Presentation only."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from ..paths import default_figures
from ..store import code_version
from . import bundle

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


def compare(committed_dir: Path, fresh_dir: Path, code: str | None = None) -> list[str]:
    """Differences between the committed claims files and freshly computed ones, one line each (empty: equal)."""
    code = code or code_version()
    problems = []
    committed = {p.stem: p for p in sorted(Path(committed_dir).glob("*.json"))}
    fresh = {p.stem: p for p in sorted(Path(fresh_dir).glob("*.json"))}
    for name in sorted(set(committed) | set(fresh)):
        if name not in fresh:
            problems.append(f"{name}: committed claims, but the notebook wrote none")
            continue
        if name not in committed:
            problems.append(f"{name}: no committed claims file (figures/claims/{name}.json)")
            continue
        old, new = json.loads(committed[name].read_text()), json.loads(fresh[name].read_text())
        if old.get("code_version") != code:
            problems.append(f"{name}: the committed claims come from code version {old.get('code_version')}, the "
                            f"code is {code}: re-run ./run_all.sh --only {name}")
        if len(old["claims"]) != len(new["claims"]):
            problems.append(f"{name}: {len(old['claims'])} committed claims, {len(new['claims'])} now")
        for a, b in zip(old["claims"], new["claims"]):
            changed = [k for k in EXACT if a.get(k) != b.get(k)]
            changed += [k for k in NUMBERS if not _close(a.get(k), b.get(k))]
            if changed:
                problems.append(f"{name}: claim {a.get('claim')!r} changed in {', '.join(changed)}: "
                                + "; ".join(f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in changed))
    return problems


def check(profile: str = "quick", jobs: int = 2) -> int:
    """Restore the profile's bundle into a temporary store, execute every notebook against it, and compare the
    claims with ``figures/`` (the committed ones). Returns the number of problems (printed)."""
    from .. import runner

    index = bundle.read_index(profile)
    if index is None:
        print(f"[check] no bundle/{profile}: export one with python -m uinfo results export --profile {profile}")
        return 1
    code = code_version()
    with tempfile.TemporaryDirectory(prefix="uinfo-check-") as tmp:
        tmp = Path(tmp)
        counts = bundle.restore(profile, tmp / "store")
        problems = []
        if counts["other_code"]:
            problems.append(f"bundle/{profile} holds {counts['other_code']} run(s) of another code version than "
                            f"{code}: regenerate the results (./run_all.sh) and the bundle (python -m uinfo "
                            "results export)")
        before = {p.parent for p in (tmp / "store").glob("*/*/meta.json")}
        failed = runner.run(runner.available(), profile,
                            {"store_dir": str(tmp / "store"), "figures_dir": str(tmp / "figures")},
                            out_dir=tmp / "executed", figures_dir=tmp / "figures", jobs=jobs)
        if failed:
            problems.append(f"{failed} notebook(s) failed to execute at {profile} from the bundle")
        trained = sorted({p.parent for p in (tmp / "store").glob("*/*/meta.json")} - before)
        if trained:
            problems.append(f"{len(trained)} run(s) were not in the bundle and had to be trained (e.g. "
                            f"{trained[0].parent.name}/{trained[0].name}): regenerate the bundle")
        problems += compare(default_figures(profile) / "claims", tmp / "figures" / "claims", code)
    for p in problems:
        print(f"[check] {p}")
    print(f"[check] {profile}: " + (f"{len(problems)} problem(s)" if problems else
                                   f"every notebook re-plotted from bundle/{profile}; its claims equal the "
                                   "committed ones"))
    return len(problems)

