"""The import rules of DESIGN.md section 6, checked on the source (no import is executed):

- a pure module (an area's `domain.py`, the rulebook, and the calculations named in PURE) imports neither Flask nor
  the database, nor any model, service or view;
- nothing imports a views module but the factory (`programme/__init__.py`) and the views of the same area;
- no area imports another area's private names (`_name`), neither by `from ... import _name` nor as
  `module._name`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.same_on_every_database  # reads the code

PACKAGE = Path(__file__).resolve().parent.parent / "programme"

#: Pure calculations that are not called domain.py (besides the rulebook package).
PURE = {
    "programme.loans.schedule",
    "programme.loans.allocation",
    "programme.loans.foresight",
    "programme.reviews.aggregation",
    "programme.reviews.agreement",
    "programme.reviews.assignment_plan",
    "programme.reviews.ranking",
    "programme.core.money",
    "programme.funding.facilitation",
}
#: What a pure module may not import (prefixes of module names).
IMPURE = ("flask", "flask_", "sqlalchemy", "werkzeug", "programme.extensions", "programme.core.db",
          "programme.core.web")
IMPURE_ROOMS = ("models", "services", "views", "forms")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module
    names: tuple[str, ...]  # names imported from it (empty for `import x`)
    line: int


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts}


def _imports() -> tuple[list[Import], list[tuple[str, str, str, int]]]:
    """Every import of every module, and every `alias._private` use of an imported programme module."""
    found: list[Import] = []
    private_uses: list[tuple[str, str, str, int]] = []
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.append(Import(module, alias.name, (), node.lineno))
                    if alias.asname:
                        aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, is_package, node.level, node.module)
                names = tuple(alias.name for alias in node.names)
                found.append(Import(module, target, names, node.lineno))
                for alias in node.names:
                    # `from programme.loans import services as loans`: the alias names a module
                    aliases[alias.asname or alias.name] = f"{target}.{alias.name}"
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and node.value.id in aliases):
                target = aliases[node.value.id]
                if target.startswith("programme."):
                    private_uses.append((module, target, node.attr, node.lineno))
    return found, private_uses


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_pure(module: str) -> bool:
    return module in PURE or module.endswith(".domain") or module.startswith("programme.rulebook")


def _is_views(module: str) -> bool:
    """A views module or package: `programme.<area>.views`, `...views.<page>` or `...<something>_views`."""
    return any(part == "views" or part.endswith("_views") for part in module.split(".")[2:])


def test_pure_modules_import_neither_flask_nor_the_database_nor_other_rooms() -> None:
    imports, _ = _imports()
    pure = [i for i in imports if _is_pure(i.module)]
    assert pure, "the check found no pure module: is PURE out of date?"
    faults = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in pure
        if i.target.startswith(IMPURE)
        or (i.target.startswith("programme.") and any(part in IMPURE_ROOMS for part in i.target.split(".")[2:]))
        or any(f"{i.target}.{name}".split(".")[-1] in IMPURE_ROOMS for name in i.names)
    ]
    assert not faults, "\n".join(faults)


def test_only_the_factory_and_the_same_areas_views_import_a_views_module() -> None:
    imports, _ = _imports()
    faults = []
    for i in imports:
        targets = [i.target] + [f"{i.target}.{name}" for name in i.names]
        for target in targets:
            if not target.startswith("programme.") or not _is_views(target):
                continue
            if i.module == "programme" or (_is_views(i.module) and _area(i.module) == _area(target)):
                continue
            faults.append(f"{i.module}:{i.line} imports {target}")
    assert not faults, "\n".join(faults)


def test_no_area_imports_another_areas_private_names() -> None:
    imports, private_uses = _imports()
    faults = [
        f"{i.module}:{i.line} imports {name} from {i.target}"
        for i in imports
        if i.target.startswith("programme.") and _area(i.target) != _area(i.module)
        for name in i.names
        if name.startswith("_") and not name.startswith("__")
    ]
    faults += [f"{module}:{line} uses {target}.{name}" for module, target, name, line in private_uses
               if _area(target) != _area(module)]
    assert not faults, "\n".join(faults)


def test_the_check_sees_the_whole_package() -> None:
    modules = _modules()
    assert "programme" in modules and "programme.core.db" in modules
    assert len(modules) > 50


#: The names of a parameter that carries the programme's time zone.
ZONE_PARAMETERS = ("timezone", "zone")


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)]


def _defaulted(arguments: ast.arguments) -> list[str]:
    """The names of the parameters that have a default value."""
    positional = arguments.posonlyargs + arguments.args
    names = [a.arg for a in positional[len(positional) - len(arguments.defaults):]]
    return names + [a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True) if d is not None]


def test_no_function_defaults_the_time_zone() -> None:
    """The programme's time zone comes from the configuration only (``core.web.programme_zone``), passed to every
    function that needs it: no parameter named ``timezone`` or ``zone`` has a default (DESIGN.md section 6), so a
    forgotten argument fails at once instead of silently giving the wrong day or programme year."""
    faults = []
    for module, path in _modules().items():
        for node in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _defaulted(node.args):
                if name in ZONE_PARAMETERS:
                    function = getattr(node, "name", "<lambda>")
                    faults.append(f"{module}:{node.lineno} {function}() defaults its `{name}`")
    assert not faults, "\n".join(faults)


def test_the_programme_always_passes_its_time_zone() -> None:
    """Every call inside the programme of a function that takes the programme's time zone passes it (by keyword,
    in its position or through ``**kwargs``), so the check sees a forgotten argument even on a path no test runs."""
    takes_zone: dict[str, int] = {}  # function name -> position of `timezone` among its positional parameters
    trees = {module: ast.parse(path.read_text(encoding="utf-8")) for module, path in _modules().items()}
    for tree in trees.values():
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
                continue
            positional = [a.arg for a in node.args.posonlyargs + node.args.args]
            if "timezone" in positional:
                takes_zone[node.name] = min(takes_zone.get(node.name, 10**6), positional.index("timezone"))
            elif any(a.arg == "timezone" for a in node.args.kwonlyargs):
                takes_zone.setdefault(node.name, 10**6)
    faults = []
    for module, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if name not in takes_zone or any(k.arg in ("timezone", None) for k in node.keywords):
                continue
            if len(node.args) > takes_zone[name]:
                continue
            faults.append(f"{module}:{node.lineno} calls {name} without the time zone")
    assert takes_zone, "the check found no function that takes the time zone"
    assert not faults, "\n".join(faults)
