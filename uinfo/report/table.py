"""Claim rows as text: the line each notebook prints, ``figures/CLAIMS.md`` and the README's results table, all
from the same rows (:func:`uinfo.report.stats.verdict`, Holm-corrected per notebook). Presentation only."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from .stats import FAMILY_ALPHA, OUTCOMES

KLEINMAN = "Kleinman et al. (ICLR 2021)"
GOLDFELD = "Goldfeld et al. (ICML 2019)"
OURS = "ours (beyond the papers)"
PAPERS = (KLEINMAN, GOLDFELD, OURS)
OWN_PREFIXES = ("(ours)", "(diagnostic", "(check)")
README_START, README_END = "<!-- claims:start -->", "<!-- claims:end -->"


def paper_of(notebook: str, claim: str) -> str:
    """Which paper a claim tests: the checkerboard and CIFAR notebooks test Kleinman et al., the others Goldfeld
    et al.; rows marked (ours), (diagnostic ...) or (check) are our own."""
    if claim.startswith(OWN_PREFIXES) or notebook == "usable_vs_shannon":
        return OURS
    return KLEINMAN if notebook.startswith(("checkerboard", "cifar")) else GOLDFELD


def _number(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.3g}" if abs(x) >= 0.001 or x == 0 else f"{x:.1e}"


def estimate_text(row: dict) -> str:
    """"0.123 [0.05, 0.2]" (the 95% interval unadjusted)."""
    return f"{_number(row['estimate'])} [{_number(row['ci_low'])}, {_number(row['ci_high'])}]"


def prediction_text(row: dict) -> str:
    """What the claim predicts, against the SESOI: "≥ +0.05 bits", "|x - 1.1| < 0.05 nats", ..."""
    ref = row.get("reference", 0.0) or 0.0
    base = "" if ref == 0 else f"{_number(ref)} "
    sesoi = f"{_number(row['sesoi'])} {row['unit']}"
    if row["predicts"] == "effect":
        return f"{'≥' if row['direction'] > 0 else '≤'} {base}{'+' if row['direction'] > 0 else '-'}{sesoi}"
    if row["direction"] == 0:
        return f"within ±{sesoi} of {_number(ref)}"
    return f"{'<' if row['direction'] > 0 else '>'} {base}{'+' if row['direction'] > 0 else '-'}{sesoi}"


def outcome_text(row: dict) -> str:
    """The outcome, with what an untestable row lacks or how many seeds an inconclusive one needs."""
    if row["outcome"] == "untestable":
        where = f"; holds in: {row['holds_where']}" if row.get("holds_where") else ""
        return f"**untestable**: {row['failed_precondition']}{where}"
    if row["outcome"] == "inconclusive":
        need = row.get("seeds_needed")
        if need and need <= row["seeds"]:
            return ("**inconclusive** (the interval is already about ±SESOI wide; the effect lies near the SESOI, "
                    "and the Holm-corrected tests need more seeds to place it)")
        return "**inconclusive**" + (f" (~{need} seeds for a ±SESOI interval)" if need else "")
    return f"**{row['outcome']}**"


def line(row: dict) -> str:
    """The line a notebook's claims cell prints for one row."""
    detail = f" ({row['detail']})" if row.get("detail") else ""
    return (f"[{row['outcome'].upper()}] {row['claim']} -- {row['statistic']} = {estimate_text(row)} "
            f"({row['method']}, {row['seeds']} seeds; predicted {prediction_text(row)})"
            f" -> {outcome_text(row).replace('**', '')}{detail}")


def _clean(value):
    """JSON-safe: NaN and infinities as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_notebook_claims(path: Path, notebook: str, profile: str, rows: list[dict], code: dict) -> None:
    """``code``: {experiment: code version} of the runs behind the rows (``uinfo.registry.code_versions``)."""
    data = {"notebook": notebook, "profile": profile, "code_version": code,
            "multiplicity": f"Holm over this notebook's testable claims (two one-sided tests each), family-wise "
                            f"{FAMILY_ALPHA:.0%}",
            "claims": [{k: _clean(v) for k, v in dict(r, paper=paper_of(notebook, r["claim"])).items()}
                       for r in rows]}
    path.write_text(json.dumps(data, indent=1, allow_nan=False))


def read_all(files) -> tuple[list[tuple[dict, dict]], list[str]]:
    """(notebook data, row) for every row of every claims JSON in ``files``, and the names of the files that are
    unreadable or in an older format (without outcomes): those notebooks must be re-run."""
    out, stale = [], []
    for f in files:
        try:
            data = json.loads(Path(f).read_text())
            rows = data["claims"]
            if any("outcome" not in r for r in rows):
                raise KeyError("outcome")
        except (ValueError, KeyError, TypeError):
            stale.append(Path(f).stem)
            continue
        out += [(data, r) for r in rows]
    return out, stale


def summary(pairs) -> list[str]:
    """Markdown table: claims per paper and outcome."""
    counts = Counter((r["paper"], r["outcome"]) for _, r in pairs)
    lines = ["| paper | " + " | ".join(OUTCOMES) + " | total |", "|---" * (len(OUTCOMES) + 2) + "|"]
    for paper in PAPERS:
        n = [counts[(paper, o)] for o in OUTCOMES]
        if sum(n):
            lines.append(f"| {paper} | " + " | ".join(map(str, n)) + f" | {sum(n)} |")
    total = [sum(counts[(p, o)] for p in PAPERS) for o in OUTCOMES]
    lines.append("| **all** | " + " | ".join(map(str, total)) + f" | {sum(total)} |")
    return lines


def rows_table(pairs, detail: bool = True) -> list[str]:
    head = "| claim (paper) | our statistic | estimate [95% CI] | seeds | predicted (SESOI) | outcome | notebook |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for data, r in pairs:
        statistic = r["statistic"] + (f" ({r['detail']})" if detail and r.get("detail") else "")
        lines.append(f"| {r['claim']} | {statistic} | {estimate_text(r)} | {r['seeds']} | {prediction_text(r)} | "
                     f"{outcome_text(r)} | `{data['notebook']}` ({data['profile']}) |")
    return lines


def _versions(data: dict) -> dict:
    """A claims file's {experiment: code version} (an older file has one version for all)."""
    code = data.get("code_version")
    return code if isinstance(code, dict) else {"all": code or "?"}


def claims_markdown(pairs, stale=()) -> str:
    codes = sorted({f"{e} {v}" for d, _ in pairs for e, v in _versions(d).items()})
    warning = ([f"**Not included** (claims file unreadable or in an older format; re-run these notebooks): "
                f"{', '.join(stale)}.", ""] if stale else [])
    return "\n".join([
        "# Claims: the papers' statements against our measurements", "",
        "Generated by `./run_all.sh` from each notebook's claims cell (`uinfo.report`). Each claim states its "
        "statistic, the direction the paper predicts and a smallest effect size of interest (SESOI), fixed beside "
        "the claim in the code; the 95% interval is a t interval over seeds (paired within seed where the arms "
        "share seeds) or a seed bootstrap. Outcomes: **reproduced** (the interval on the predicted side and the "
        "estimate at least the SESOI; for a claim of *no* effect, the interval inside the SESOI), **contradicted** "
        "(the interval excludes the predicted effect), **inconclusive** (neither: the row says how many seeds "
        "would settle it), **untestable** (a precondition fails at this profile: the row names it, and where it "
        f"holds). Decisions are Holm-corrected within each notebook (family-wise {FAMILY_ALPHA:.0%}); the "
        "intervals shown are unadjusted.", "",
        "Code version of the runs, per experiment (a hash of the code that computes them, `uinfo.provenance`): "
        f"{', '.join(codes)}.", "", *warning,
        "## Summary", "", *summary(pairs), "", "## Every claim", "", *rows_table(pairs), ""])


def update_readme(readme: Path, pairs) -> bool:
    """Replace the README's results table (between the claims markers) with the summary and one row per claim.
    Returns False (and leaves the file alone) when the markers are missing."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = ["", "Claims per paper and outcome (`quick`):", "", *summary(pairs), "",
            *rows_table(pairs, detail=False), ""]
    readme.write_text(head + README_START + "\n".join(body) + README_END + tail)
    return True
