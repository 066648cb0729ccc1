"""Notebook parameters, the runner's failure reporting and CLAIMS.md."""
import json

import nbformat
import pytest

from uinfo import runner
from uinfo.notebook import check_parameters, record_claims, snapshot
from uinfo.report import stats as S

DECLARED = {"profile", "seeds", "store_dir", "figures_dir", "jobs"}


def namespace(tmp_path, **extra):
    ns = {"nb": object()}
    base = snapshot(ns)
    ns.update({"profile": "quick", "seeds": None, "store_dir": None, "figures_dir": str(tmp_path),
               "jobs": None, **extra})
    return ns, base


def test_unknown_parameter_stops_the_notebook(tmp_path):
    ns, base = namespace(tmp_path, profle="paper")
    with pytest.raises(ValueError, match=r"unknown notebook parameter\(s\) \['profle'\]"):
        check_parameters(ns, base, DECLARED)


@pytest.mark.parametrize("bad", [dict(profile="fast"), dict(seeds=[-1]), dict(seeds="3"),
                                 dict(jobs=0), dict(jobs=1.5)])
def test_invalid_parameter_values_fail_clearly(tmp_path, bad):
    ns, base = namespace(tmp_path)
    ns.update(bad)
    with pytest.raises(ValueError, match="invalid notebook parameter"):
        check_parameters(ns, base, DECLARED)


def test_seed_count_becomes_a_list_and_folders_resolve(tmp_path):
    ns, base = namespace(tmp_path, seeds=3)
    p = check_parameters(ns, base, DECLARED)
    assert p.seeds == [0, 1, 2] and p.figures_dir == tmp_path and p.store_dir.name == "results"
    assert isinstance(p.jobs, int) and p.jobs >= 1


def _seeds(values):
    import pandas as pd

    return pd.Series(values, index=pd.RangeIndex(len(values), name="seed"), dtype=float)


def test_claims_are_recorded_and_collected(tmp_path, capsys):
    """Each row of CLAIMS.md carries its interval, seeds, prediction (SESOI) and outcome; the top counts outcomes
    per paper; an untestable row names its precondition; the README table is rewritten between its markers."""
    rows = [S.verdict("X rises", "mean x", S.t_interval(_seeds([0.4, 0.41, 0.39, 0.4])), 0.05, "bits",
                      detail="4 seeds"),
            S.verdict("Y falls", "mean y", S.t_interval(_seeds([0.9, 0.1])), 0.05, "bits", direction=-1,
                      preconditions=[S.Precondition("the task is solved", False, "0.65", "the paper profile")])]
    record_claims("checkerboard_demo", "smoke", rows, tmp_path)
    printed = capsys.readouterr().out
    assert "[REPRODUCED] X rises -- mean x = 0.4 [0.387, 0.413] (t, 4 seeds; predicted ≥ +0.05 bits)" in printed
    (tmp_path / "claims" / "old_format.json").write_text(json.dumps({"notebook": "old", "claims": [{"verdict": "x"}]}))
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- claims:start -->\nstale\n<!-- claims:end -->\nrest\n")
    md = runner.write_claims(tmp_path, readme).read_text()
    assert ("| X rises | mean x (4 seeds) | 0.4 [0.387, 0.413] | 4 | ≥ +0.05 bits | **reproduced** | "
            "`checkerboard_demo` (smoke) |") in md
    assert ("**untestable**: the task is solved (measured: 0.65); holds in: the paper profile") in md
    assert "| Kleinman et al. (ICLR 2021) | 1 | 0 | 0 | 1 | 2 |" in md
    assert "re-run these notebooks): old_format" in md
    assert "stale" in readme.read_text()  # an old claims file: the README table is left alone
    (tmp_path / "claims" / "old_format.json").unlink()
    runner.write_claims(tmp_path, readme)
    text = readme.read_text()
    assert "stale" not in text and text.startswith("intro") and text.endswith("rest\n") and "| X rises |" in text
    data = json.loads((tmp_path / "claims" / "checkerboard_demo.json").read_text())
    assert data["profile"] == "smoke" and data["code_version"] and data["claims"][0]["p_reproduce_holm"] <= 1


def test_unknown_notebook_name_is_refused():
    with pytest.raises(SystemExit, match="unknown notebook"):
        runner.select(["no_such_notebook"])


def _notebook(path, source, parameters='profile = "quick"'):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_runner_exits_nonzero_naming_each_failed_notebook(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    _notebook(src / "good.ipynb", "x = 1")
    _notebook(src / "bad.ipynb", "raise RuntimeError('deliberate')")
    failed = runner.run(["bad", "good"], "smoke", notebook_dir=src, out_dir=tmp_path / "out",
                        figures_dir=tmp_path / "fig")
    captured = capsys.readouterr()
    assert failed == 1
    assert "bad: FAILED" in captured.out and "good: ok" in captured.out
    assert "1 notebook(s) failed: bad" in captured.err


def test_runner_runs_notebooks_in_parallel_sharing_the_cores(tmp_path, capsys, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    out = tmp_path / "out"
    # each notebook writes the jobs it was given; the one without a jobs parameter must not get one
    _notebook(src / "a.ipynb", f"open(r'{out}/a.txt', 'w').write(str(jobs))", 'profile = "quick"\njobs = None')
    _notebook(src / "b.ipynb", f"open(r'{out}/b.txt', 'w').write(str(jobs))", 'profile = "quick"\njobs = None')
    # and each kernel's torch gets its share of the cores (two kernels at one thread per core would oversubscribe)
    _notebook(src / "c.ipynb", "assert 'jobs' not in globals()\nimport torch\n"
                               f"open(r'{out}/c.txt', 'w').write(str(torch.get_num_threads()))")
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert runner.run(["a", "b", "c"], "smoke", notebook_dir=src, out_dir=out, figures_dir=tmp_path / "fig",
                      jobs=2) == 0
    assert (out / "a.txt").read_text() == "2" and (out / "b.txt").read_text() == "2"
    assert (out / "c.txt").read_text() == "2" and "OMP_NUM_THREADS" not in runner.os.environ  # restored
    assert "all 3 notebook(s) ran" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="jobs"):
        runner.run(["a"], "smoke", notebook_dir=src, out_dir=out, jobs=0)


def test_real_notebook_stops_on_a_misspelt_parameter_before_any_compute(tmp_path, capsys):
    failed = runner.run(["checkerboard_dynamics"], "smoke", out_dir=tmp_path / "out", figures_dir=tmp_path / "fig",
                        extra={"profle": "paper", "store_dir": str(tmp_path / "store"),
                               "figures_dir": str(tmp_path / "fig")})
    assert failed == 1
    assert "unknown notebook parameter(s) ['profle']" in capsys.readouterr().out
    assert not (tmp_path / "store").exists()  # nothing was trained or stored


def test_a_saved_figure_is_the_same_bytes_each_time(tmp_path):
    """The PDF carries no creation date: re-running a notebook does not change a committed figure."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from uinfo.report.style import save

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    first = [p.read_bytes() for p in save(fig, "line", tmp_path / "a")]
    second = [p.read_bytes() for p in save(fig, "line", tmp_path / "b")]
    plt.close(fig)
    assert first == second and b"CreationDate" not in first[0]
