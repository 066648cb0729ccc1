"""The reviewers' check when code changes (issue 17, item 3): a change to an experiment's computational code makes
its bundled runs stale, and the check names the notebooks to recompute without training them; a change to the
presentation only re-plots. Notebook execution is replaced by a stand-in that writes the notebook's claims."""
import json
import shutil

import pandas as pd

from uinfo import check, provenance, registry, runner
from uinfo.report import bundle, stats as S, table
from uinfo.store import Store

NAME = "single_neuron"  # the cheapest family: its smoke runs take a second


def _claims(folder, estimate=0.4):
    row = S.verdict("X rises", "mean x", S.t_interval(pd.Series([estimate, estimate + 0.01, estimate - 0.01])),
                    0.05, "bits")
    (folder / "claims").mkdir(parents=True, exist_ok=True)
    table.write_notebook_claims(folder / "claims" / f"{NAME}.json", NAME, "smoke", S.holm([row]),
                                registry.code_versions(NAME))


def _setup(tmp_path, monkeypatch):
    registry.runs("single_neuron", registry.notebook(NAME).configs("smoke"), Store(tmp_path / "store"), progress=False)
    bundle.export("smoke", tmp_path / "store", tmp_path / "bundle")
    _claims(tmp_path / "committed")
    executed = []

    def replot(names, profile, extra, out_dir, figures_dir, jobs):  # what executing the notebooks would write
        executed.extend(names)
        _claims(figures_dir)
        return 0
    monkeypatch.setattr(runner, "available", lambda: [NAME])
    monkeypatch.setattr(runner, "run", replot)
    return executed


def test_unchanged_code_replots_and_passes(tmp_path, monkeypatch, capsys):
    executed = _setup(tmp_path, monkeypatch)
    assert check.check("smoke", 1, tmp_path / "bundle", tmp_path / "committed" / "claims") == 0
    assert executed == [NAME] and "its claims equal the committed ones" in capsys.readouterr().out


def test_a_computational_change_names_the_notebooks_to_recompute_and_trains_nothing(tmp_path, monkeypatch, capsys):
    executed = _setup(tmp_path, monkeypatch)
    real = provenance.code_version.__wrapped__
    monkeypatch.setattr(provenance, "code_version",
                        lambda module: "edited000000" if module == "uinfo.experiments.neuron" else real(module))
    assert check.check("smoke", 1, tmp_path / "bundle", tmp_path / "committed" / "claims") == 2
    out = capsys.readouterr().out
    assert executed == []  # not executed: it would have trained
    assert "bundle/smoke holds 1 single_neuron run(s) of another code version than edited000000" in out
    assert f"{NAME}: 1 of its runs are not in bundle/smoke under the current code version: compute them with " \
           f"./run_all.sh --only {NAME}" in out


def test_a_changed_result_fails_naming_the_claim(tmp_path, monkeypatch, capsys):
    _setup(tmp_path, monkeypatch)
    _claims(tmp_path / "committed", estimate=0.5)  # the committed claim no longer matches what the code gives
    assert check.check("smoke", 1, tmp_path / "bundle", tmp_path / "committed" / "claims") == 1
    assert f"{NAME}: claim 'X rises' changed in estimate" in capsys.readouterr().out


def test_executed_notebooks_record_the_code_versions_behind_them(tmp_path):
    source = runner.NOTEBOOK_DIR / "szt_tanh.ipynb"
    shutil.copy(source, tmp_path / "szt_tanh.ipynb")
    runner.stamp_provenance(tmp_path / "szt_tanh.ipynb", "szt_tanh", "quick")
    meta = json.loads((tmp_path / "szt_tanh.ipynb").read_text())["metadata"]["uinfo"]
    assert meta == {"profile": "quick", "code_versions": {"szt": registry.EXPERIMENTS["szt"].code_version()}}
