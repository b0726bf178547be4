"""The README's layout tree names every module of the product, and only modules that exist.

The tree is the first fenced block after the README's "### Layout" heading. Each of its lines
starts with a path from the repository's root: a folder (``geo/``), a module (``geo/hexes.py``),
a file, or a glob standing for a folder's modules (``dashboard/screens/*.py``).
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

README = ROOT / "README.md"
PACKAGES = ("geo", "ingest", "store", "streetsafe", "dashboard")


def layout_paths(readme: str) -> list[str]:
    """Return the path that starts each line of the README's layout tree, in order."""
    after = readme[readme.index("\n### Layout\n") :]
    start = after.index("\n```") + 1
    body = after[after.index("\n", start) + 1 :]
    block = body[: body.index("```")]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def modules_named(paths: list[str], root: Path) -> set[str]:
    """Return the module files ``paths`` name, globs expanded under ``root``."""
    named: set[str] = set()
    for path in paths:
        if "*" in path:
            named |= {
                found.relative_to(root).as_posix()
                for found in root.glob(path)
                if found.name != "__init__.py"
            }
        elif path.endswith(".py"):
            named.add(path)
    return named


def modules_found(root: Path) -> set[str]:
    """Return every module file of the product's packages (``__init__.py`` aside)."""
    return {
        found.relative_to(root).as_posix()
        for package in PACKAGES
        for found in (root / package).rglob("*.py")
        if found.name != "__init__.py"
    }


def differences(named: set[str], found: set[str]) -> list[str]:
    """Return one line per module the tree lacks or names without it existing."""
    return [f"not in the README's layout: {m}" for m in sorted(found - named)] + [
        f"in the README's layout but not in the code: {m}" for m in sorted(named - found)
    ]


def test_the_layout_names_every_module_and_no_other() -> None:
    paths = layout_paths(README.read_text(encoding="utf-8"))
    assert differences(modules_named(paths, ROOT), modules_found(ROOT)) == []


def test_every_path_the_layout_names_exists() -> None:
    for path in layout_paths(README.read_text(encoding="utf-8")):
        if "*" in path:
            assert list(ROOT.glob(path)), f"{path} matches nothing"
        elif path.endswith("/"):
            assert (ROOT / path).is_dir(), f"{path} is not a folder"
        else:
            assert (ROOT / path).is_file(), f"{path} is not a file"


def test_each_package_has_its_folder_line() -> None:
    paths = layout_paths(README.read_text(encoding="utf-8"))
    assert {p for p in paths if p.rstrip("/") in PACKAGES} == {f"{p}/" for p in PACKAGES}


def test_a_module_added_or_removed_without_the_readme_is_noticed() -> None:
    paths = layout_paths(README.read_text(encoding="utf-8"))
    named, found = modules_named(paths, ROOT), modules_found(ROOT)
    assert differences(named, found | {"geo/added.py"}) == [
        "not in the README's layout: geo/added.py"
    ]
    gone = sorted(named)[0]
    assert differences(named, found - {gone}) == [
        f"in the README's layout but not in the code: {gone}"
    ]


def test_the_parser_reads_paths_and_expands_globs(tmp_path: Path) -> None:
    readme = "# x\n\n### Layout\n\nText.\n\n```\ngeo/   pure\ngeo/a.py  a\n\npkg/*.py  pages\n```\n"
    (tmp_path / "pkg").mkdir()
    for name in ("__init__.py", "one.py", "two.py"):
        (tmp_path / "pkg" / name).write_text("")
    paths = layout_paths(readme)
    assert paths == ["geo/", "geo/a.py", "pkg/*.py"]
    assert modules_named(paths, tmp_path) == {"geo/a.py", "pkg/one.py", "pkg/two.py"}
