"""The code version of a run is the hash of the import closure of its experiment's module: presentation is outside
every closure by construction, docstrings and comments do not count, and one experiment's edit leaves the others'
stored runs valid."""
import pytest

from uinfo import provenance, registry

PRESENTATION = ("report", "profiles", "registry.py", "notebook.py", "runner.py", "sweep.py", "__main__.py")


@pytest.mark.parametrize("experiment", sorted(registry.EXPERIMENTS))
def test_no_computational_module_imports_presentation(experiment):
    closure = provenance.closure(registry.EXPERIMENTS[experiment].module)
    parts = [p.relative_to(provenance.PACKAGE_DIR).parts for p in closure]
    assert not [p for p in parts if p[0] in PRESENTATION], parts
    assert ("store.py",) in parts  # the code that writes the records is part of what makes them


def test_each_experiment_config_class_is_defined_by_its_module():
    import importlib

    for e in registry.EXPERIMENTS.values():
        cls = getattr(importlib.import_module(e.module), e.config_class)
        assert provenance.module_of(cls.__new__(cls)) == e.module
        assert registry.experiment_of(cls.__new__(cls)) is e
    assert provenance.module_of({"seed": 0}) == "uinfo.store"


def _package(tmp_path, monkeypatch, files):
    package = tmp_path / "uinfo"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    monkeypatch.setattr(provenance, "PACKAGE_DIR", package)
    provenance.code_version.cache_clear()
    return package


def test_the_version_follows_what_runs_and_only_that(tmp_path, monkeypatch):
    files = {"__init__.py": "", "store.py": "from . import faults\nX = 1\n", "faults.py": "Y = 1\n",
             "experiments/__init__.py": "", "experiments/a.py": '"""A."""\nfrom ..store import X\n\ndef run():\n    return X\n',
             "experiments/b.py": "from .. import store\n", "report/figs.py": "from ..experiments import a\n"}
    package = _package(tmp_path, monkeypatch, files)
    try:
        assert [p.name for p in provenance.closure("uinfo.experiments.a")] == ["a.py", "faults.py", "store.py"]
        a, b = provenance.code_version("uinfo.experiments.a"), provenance.code_version("uinfo.experiments.b")

        def again(module):
            provenance.code_version.cache_clear()
            return provenance.code_version(module)
        # a docstring, a comment, the layout and the presentation layer change nothing
        (package / "experiments/a.py").write_text('"""Other words."""\nfrom ..store import X  # a comment\n\n\n'
                                                  'def run():\n    """Doc."""\n    return X\n')
        (package / "report/figs.py").write_text("Z = 3\n")
        assert again("uinfo.experiments.a") == a
        # what runs does: in the module itself, or anywhere in its closure
        (package / "experiments/a.py").write_text("from ..store import X\n\ndef run():\n    return X + 1\n")
        assert again("uinfo.experiments.a") != a
        assert again("uinfo.experiments.b") == b  # another experiment's edit leaves b's runs valid
        (package / "faults.py").write_text("Y = 2\n")
        assert again("uinfo.experiments.b") != b
    finally:
        provenance.code_version.cache_clear()


def test_an_unknown_module_is_refused():
    with pytest.raises(ValueError, match="not a module of the uinfo package"):
        provenance.closure("uinfo.nowhere")


def test_the_usable_information_experiments_do_not_hash_the_shannon_estimator():
    """The checkerboard and CIFAR runs use only the usable-information estimator: a change to the Shannon one
    (shared package, uinfo.estimators) must not invalidate their stored runs. They import estimators.usable
    directly, not the package, whose __init__ imports both."""
    from uinfo import provenance

    for module in ("uinfo.experiments.checkerboard", "uinfo.experiments.cifar"):
        names = {p.relative_to(provenance.PACKAGE_DIR).as_posix() for p in provenance.closure(module)}
        assert "estimators/usable.py" in names and not {"estimators/shannon.py", "estimators/__init__.py"} & names


def test_each_experiment_hashes_only_what_it_uses():
    """After the split of the Goldfeld module, the MNIST clustering runs use no estimator, and no experiment hashes
    the package's front door or the engine's __init__ (which import everything)."""
    for e in registry.EXPERIMENTS.values():
        names = {p.relative_to(provenance.PACKAGE_DIR).as_posix() for p in provenance.closure(e.module)}
        assert not {"__init__.py", "engine/__init__.py", "experiments/__init__.py"} & names, e.name
        assert {"engine/runs.py", "engine/state.py"} <= names, e.name  # resume and the store: every experiment's
    mnist = {p.name for p in provenance.closure(registry.EXPERIMENTS["mnist_cnn"].module)}
    assert not {"shannon.py", "usable.py"} & mnist


def test_the_front_door_exports_the_estimators_lazily():
    import subprocess
    import sys

    import uinfo
    import uinfo.estimators as estimators

    assert set(estimators.__all__) <= set(uinfo.__all__) and "extract" in uinfo.__all__
    assert uinfo.cross_fitted_usable_information is estimators.cross_fitted_usable_information
    with pytest.raises(AttributeError, match="no attribute 'nowhere'"):
        uinfo.nowhere  # noqa: B018
    out = subprocess.run([sys.executable, "-c", "import sys, uinfo.paths; print('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # the command line's light modules do not pay for torch


def test_the_report_layer_imports_neither_the_notebook_helpers_nor_the_runner():
    import ast

    for path in (provenance.PACKAGE_DIR / "report").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
                assert not {"notebook", "runner", "uinfo.notebook", "uinfo.runner"} & set(names), (path, names)
