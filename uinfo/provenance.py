"""The code version of a run: a hash of the source that computes it, and of nothing else.

A run is computed by the module that defines its config class (``uinfo.experiments.cifar`` for a ``CIFARConfig``)
and by every module of the package that this module imports, directly or through others: its *import closure*.
The code version of an experiment is a hash of the closure's sources, each normalized to its syntax tree without
docstrings, so a comment, a docstring or a reformatting changes nothing, while any change to what runs does.

So no list of files is kept by hand: a figure module, the report layer, the profiles that build configs and the
notebooks are outside every closure because no computational module imports them (a test asserts it), and a
change to one experiment's code leaves the others' stored runs valid. The config itself enters the store key
separately (``uinfo.store.config_key``).
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "uinfo"
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_file(name: str) -> Path | None:
    """The source file of a module of the package (``uinfo.a.b`` -> ``a/b.py`` or ``a/b/__init__.py``)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_DIR).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The package modules that the file imports (anywhere in it, functions included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from . import faults` imports the module uinfo.faults; `from .estimators import f` takes f from
            # the package's __init__
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if _module_file(f"{base}.{alias.name}") else base)
    return {m for m in found if _module_file(m) is not None}


def closure(module: str) -> list[Path]:
    """The source files of ``module`` and of every package module it imports, transitively (sorted)."""
    start = _module_file(module)
    if start is None:
        raise ValueError(f"{module!r} is not a module of the {PACKAGE} package")
    seen, todo = set(), [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(_module_file(m) for m in _imports(path))
    return sorted(seen)


class _StripDocstrings(ast.NodeTransformer):
    def _strip(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_Module = visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _strip


def normalized_source(path: Path) -> str:
    """The file's syntax tree without docstrings (comments and layout are not in the tree)."""
    tree = _StripDocstrings().visit(ast.parse(Path(path).read_text(), str(path)))
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


@functools.lru_cache(maxsize=None)
def code_version(module: str) -> str:
    """A hash of the normalized sources of ``module``'s import closure (12 hex digits)."""
    h = hashlib.sha256()
    for path in closure(module):
        h.update(str(path.relative_to(PACKAGE_DIR)).encode() + b"\0")
        h.update(normalized_source(path).encode() + b"\0")
    return h.hexdigest()[:12]


def module_of(config) -> str:
    """The module whose closure computes runs of ``config``: the one defining its class (a config that is not
    defined in the package, e.g. a plain dict, is computed by caller code that no hash can see: the store's own
    closure stands in)."""
    module = type(config).__module__
    return module if module.split(".")[0] == PACKAGE and _module_file(module) else f"{PACKAGE}.store"
