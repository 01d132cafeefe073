"""The shape of the house, checked: the apps are layers (the core, screening on it, extraction
on both), the engines never import Django, and views write to the database only through the
audited services. The first two are import-linter contracts in pyproject.toml."""

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
APPS = ("reviewmgr", "screening", "extraction", "api")

# Writes a view may not make itself: each goes through a service, which checks and logs it.
WRITES = {"save", "delete", "create", "bulk_create", "bulk_update", "get_or_create",
          "update_or_create"}  # fmt: skip


def test_the_import_contracts_hold(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    failed = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert failed == 0, report
    assert "2 kept, 0 broken" in report


def _view_modules() -> list[Path]:
    found = []
    for app in APPS:
        found += (ROOT / app).glob("views.py")
        found += (ROOT / app).glob("*_views.py")
        found += (ROOT / app / "views").glob("*.py")
    return sorted(found)


def _writes(tree: ast.AST) -> list[tuple[int, str]]:
    """Calls that write: a model or form saved, created or deleted, or a queryset updated
    (`....filter(...).update(...)`, `X.objects.update(...)`; a dict's update is left alone)."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name, owner = node.func.attr, node.func.value
        queryset = isinstance(owner, ast.Call) or (
            isinstance(owner, ast.Attribute) and owner.attr == "objects"
        )
        if name in WRITES or (name == "update" and queryset):
            found.append((node.lineno, name))
    return found


def test_views_write_only_through_services():
    modules = _view_modules()
    assert len(modules) >= 10, modules  # the search finds the views
    offending = [
        f"{path.relative_to(ROOT)}:{line}: .{name}()"
        for path in modules
        for line, name in _writes(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offending == [], "views write to the database; use a service:\n" + "\n".join(offending)


def test_the_write_check_finds_a_write():
    """The check above is not blind: the writes it looks for are found in a view's shape."""
    source = (
        "def view(request):\n"
        "    form.save()\n"
        "    Record.objects.filter(pk=1).update(title='x')\n"
        "    context.update(page=1)\n"
    )
    assert _writes(ast.parse(source)) == [(2, "save"), (3, "update")]
