"""The repository reads nothing outside itself: a fresh clone, with nothing beside it, has
everything `make test` needs. Every committed file is checked for the ways a path leaves
the clone: a symbolic link pointing out, an absolute path into a workplace or a home, a
relative path whose `..` climbs above the root, and, in Python, `parents[N]` or a
`.parent` chain on `__file__` that goes above the root."""

import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Directories of the machines the code has been written on, never of a clone's machine.
ABSOLUTE_OUTSIDE = re.compile(r"(?<![\w.~-])/(?:work|home|root|Users)/[\w.-]+")
# A run of parent-folder segments (dot dot slash, or backslash), in paths of any file.
RELATIVE_CLIMB = re.compile(r"(?<![\w.])((?:\.\.[/\\])+)")
# Generated or vendored files, whose paths are not the project's to choose.
NOT_CHECKED = {"uv.lock"}


def committed_files() -> list[tuple[str, str]]:
    """(mode, path) of every file in the index of the clone under test."""
    listing = subprocess.run(
        ["git", "ls-files", "--stage", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    entries = []
    for entry in filter(None, listing.split("\0")):
        meta, path = entry.split("\t", 1)
        entries.append((meta.split()[0], path))
    return entries


def _text(path: str) -> str | None:
    file = ROOT / path
    if not file.is_file():
        return None  # deleted in the work tree, not yet committed as such
    data = file.read_bytes()
    return None if b"\0" in data[:8192] else data.decode("utf-8", errors="replace")


def _depth(path: str) -> int:
    """Folders between the root and the file."""
    return len(PurePosixPath(path).parts) - 1


# Files run from the root (make, the tests, CI, image builds from the root's context): a
# relative path in them is read from the root. In any other file (Markdown links, the
# rule files promtool tests name, configs) it is read from the file's own folder.
READ_FROM_THE_ROOT = re.compile(r"(\.py|\.sh|(^|/)Makefile|(^|/)Dockerfile|^\.ci/.*)$")


def _base_depth(path: str) -> int:
    """How deep the folder is that a relative path in `path` is read from."""
    return 0 if READ_FROM_THE_ROOT.search(path) else _depth(path)


def _climbs_out(base_depth: int, climb: str) -> bool:
    """Whether a run of parent-folder segments, read from a folder `base_depth` folders
    below the root, ends above it."""
    return climb.count("..") > base_depth


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def text_problems(path: str, text: str) -> Iterator[str]:
    for match in ABSOLUTE_OUTSIDE.finditer(text):
        yield f"{path}:{_line(text, match.start())}: absolute path {match.group()!r}"
    for match in RELATIVE_CLIMB.finditer(text):
        if _climbs_out(_base_depth(path), match.group(1)):
            yield f"{path}:{_line(text, match.start())}: {match.group(1)!r} climbs above the root"


def _mentions_file(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(node))


def _levels_up(node: ast.AST) -> int | None:
    """How many folders above the file's own an expression on `__file__` goes, if it is
    a `parents[N]` (N) or a chain of `.parent` (one fewer: the first is the file's folder);
    None for anything else."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "parents"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, int)
        and _mentions_file(node.value)
    ):
        return node.slice.value
    parents = 0
    while isinstance(node, ast.Attribute) and node.attr == "parent":
        parents, node = parents + 1, node.value
    return parents - 1 if parents and _mentions_file(node) else None


def python_problems(path: str, text: str) -> Iterator[str]:
    depth = _depth(path)
    for node in ast.walk(ast.parse(text, filename=path)):
        levels = _levels_up(node)
        if levels is not None and levels > depth:  # `depth` folders up is the root
            yield f"{path}:{node.lineno}: goes {levels} folders up from a file {depth} deep"


def problems() -> list[str]:
    found: list[str] = []
    for mode, path in committed_files():
        if mode == "120000":  # a symbolic link: its target must stay inside
            target = (ROOT / path).readlink().as_posix()
            climb = RELATIVE_CLIMB.match(target + "/")
            if target.startswith("/") or (climb and _climbs_out(_depth(path), climb.group(1))):
                found.append(f"{path}: symbolic link to {target}, outside the repository")
            continue
        text = None if path in NOT_CHECKED else _text(path)
        if text is None:
            continue
        found.extend(text_problems(path, text))
        if path.endswith(".py"):
            found.extend(python_problems(path, text))
    return found


def test_no_committed_file_reaches_outside_the_repository() -> None:
    assert problems() == []


# Built from parts, so that this file's own text does not contain what it looks for.
UP = ".." + "/"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("shared/tests/test_x.py", f'CSV = Path("{UP}shared/reference/m49.csv")'),
        ("shared/scripts/build.py", 'SOURCE = "/' + 'work/shared/reference/m49.csv"'),
        ("deploy/gateway/nginx.conf", f"include {UP * 3}etc/outside.conf;"),
        ("Makefile", f"include {UP}shared/settings.mk"),
        ("services/school-monitor/README.md", f"see [the design]({UP * 3}shared/design.md)"),
    ],
)
def test_a_path_out_of_the_clone_is_found_in_any_file(path: str, text: str) -> None:
    assert list(text_problems(path, text)) != []


@pytest.mark.parametrize(
    "text",
    [
        "ROOT = Path(__file__).resolve().parents[3]",
        "ROOT = Path(__file__).resolve().parent.parent.parent.parent",
    ],
)
def test_climbing_from_file_above_the_root_is_found(text: str) -> None:
    assert list(python_problems("shared/tests/test_x.py", text)) != []


@pytest.mark.parametrize(
    "text",
    [
        "ROOT = Path(__file__).resolve().parents[2]",
        "ROOT = Path(__file__).resolve().parent.parent.parent",
        'CSV = Path(__file__).parents[1] / "reference-source" / "m49.csv"',
    ],
)
def test_paths_inside_the_clone_pass(text: str) -> None:
    assert list(python_problems("shared/tests/test_x.py", text)) == []
    assert list(text_problems("shared/tests/test_x.py", text)) == []


def test_a_relative_path_from_a_file_to_another_of_the_repository_passes() -> None:
    link = f"[top]({UP * 2}README.md)"
    assert list(text_problems("services/school-monitor/README.md", link)) == []
    rules = f"rule_files:\n  - {UP}rules/alerts.yml"
    assert list(text_problems("deploy/prometheus/tests/alerts_test.yml", rules)) == []
