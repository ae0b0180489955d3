"""The folders show the architecture (ARCHITECTURE.md, "Layout"): the request side on top,
the engine underneath, and nothing in between that reaches back up. Read from the source
with `ast`, so that an import inside a function counts as much as one at the top."""

import ast
from pathlib import Path

WEBAPP = Path(__file__).resolve().parent.parent / "webapp"

BASE = {"extensions", "config", "database", "crypto", "errors", "timeutil", "models"}
FEATURES = {"auth", "dashboard", "posts", "imports", "queue", "calendar", "campaigns",
            "templates", "approvals", "channels", "notifications", "settings", "audit", "team",
            "operations"}
# What each part may import, besides itself and BASE.
ALLOWED = {
    "models": set(),
    "publishers": set(),
    "engine": {"publishers"},
    "services": {"engine", "publishers"},
    "web": {"services", "engine"},
    "api": {"services", "web"},
    **{feature: {"services", "web"} for feature in FEATURES},
}
# They put the parts together: the app factory, the command line, `make run`.
ENTRY_POINTS = {"webapp", "webapp.cli", "webapp.launch"}


def module_name(path: Path) -> str:
    parts = path.relative_to(WEBAPP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    return imports_in(path.read_text(), module_name(path), path.name == "__init__.py")


def imports_in(source: str, name: str, is_package: bool) -> set[str]:
    """The webapp modules that module `name` imports (a package's name when it imports
    the package itself, e.g. a blueprint)."""
    package = name if is_package else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("webapp")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("webapp"):
                continue
            for alias in node.names:  # `from . import planner` imports a module
                sub = f"{target}.{alias.name}"
                found.add(sub if is_module(sub) else target)
    return found


def is_module(name: str) -> bool:
    path = WEBAPP.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in WEBAPP.rglob("*.py")}


def part(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_each_part_imports_only_what_lies_beneath_it():
    wrong = []
    for module, targets in sorted(graph().items()):
        if module in ENTRY_POINTS:
            continue
        here = part(module)
        allowed = BASE | ALLOWED.get(here, set()) | {here}
        wrong += [f"{module} imports {t}" for t in sorted(targets)
                  if t != "webapp" and part(t) not in allowed]
        if "webapp" in targets:
            wrong.append(f"{module} imports the app package")
    assert wrong == []


def test_no_import_cycle():
    edges = graph()

    def ancestor(a: str, b: str) -> bool:  # a blueprint's routes import its package's bp
        return a.startswith(b + ".")

    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges.get(module, ())):
            if ancestor(module, target) or target not in edges:
                continue
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_check_reads_relative_and_late_imports():
    """The check itself: relative imports, imports inside functions, modules imported from
    their package, and what the rules say of an engine module importing a service."""
    source = ("from ..services import posts\nfrom . import jobs\nfrom ..models import Post\n"
              "def f():\n    from ..web.htmx import render\n")
    assert imports_in(source, "webapp.engine.planner", False) == {
        "webapp.services.posts", "webapp.engine.jobs", "webapp.models", "webapp.web.htmx"}
    assert "services" not in BASE | ALLOWED["engine"]


def test_public_functions_of_services_and_engine_say_what_they_do():
    """The rules live in services/ and engine/: each public function there has a
    docstring, so its callers need not read its body."""
    missing = [f"{path.relative_to(WEBAPP)}:{node.lineno} {node.name}"
               for folder in ("services", "engine")
               for path in sorted((WEBAPP / folder).glob("*.py"))
               for node in ast.parse(path.read_text()).body
               if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
               and not ast.get_docstring(node)]
    assert missing == []
