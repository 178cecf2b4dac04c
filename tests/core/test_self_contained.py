"""A clone with nothing beside it passes on its own (issue 8, §1).

The project's reference data collection sits in a sibling folder on the machines it was built
on; code, tests and benchmarks must never read it. What they need is copied into the package
(``src/govshare/*/data``) or ``tests/data`` with its origin, license and sha256 in a
SOURCES.md. The patterns are assembled here so that this file does not match itself.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.conftest import ROOT, TEST_DATA

_SIBLING = "shared"
# "../<sibling>", "/work/<sibling>", paths built to it: parent / "<sibling>", ("..", "<sibling>")
FORBIDDEN = re.compile(
    r"\.\./" + _SIBLING + r"\b"
    + r"|/work/" + _SIBLING + r"\b"
    + r"""|/\s*["']""" + _SIBLING + r"""["']"""
    + r"""|["']\.\.["']\s*,\s*["']""" + _SIBLING + r"""["']""")
SKIPPED_DIRS = {"__pycache__", "vendor", "node_modules", ".mypy_cache", ".pytest_cache"}
BINARY_SUFFIXES = {".xlsx", ".png", ".pdf", ".woff", ".woff2", ".ttf", ".ico", ".gz", ".zip"}


def _text_files(top: Path) -> list[Path]:
    found = []
    for path in sorted(top.rglob("*")):
        if (not path.is_file() or SKIPPED_DIRS & set(path.relative_to(ROOT).parts)
                or path.suffix in BINARY_SUFFIXES or path.name.endswith(".egg-info")
                or any(p.endswith(".egg-info") for p in path.parts)):
            continue
        found.append(path)
    return found


def test_the_pattern_finds_every_way_of_reaching_the_sibling_folder() -> None:
    sibling = _SIBLING
    for line in (f"ORLIB = ROOT.parent / \"{sibling}\" / \"data\"",
                 f"read from ../{sibling}/data/orlib",
                 f"see /work/{sibling}/data/SOURCES.md",
                 f"Path(\"..\", '{sibling}', \"data\")"):
        assert FORBIDDEN.search(line), line
    for line in ("a shared-services partnership", "shared_strings", "the shared readers"):
        assert not FORBIDDEN.search(line), line


def test_no_file_under_src_tests_or_bench_refers_to_the_sibling_folder() -> None:
    offenders = []
    for top in ("src", "tests", "bench"):
        for path in _text_files(ROOT / top):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                if FORBIDDEN.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "copy the data into the repository instead:\n" + "\n".join(offenders)


def test_every_test_data_file_is_listed_with_its_sha256() -> None:
    sources = (TEST_DATA / "SOURCES.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`([0-9a-f]{64})`", sources))
    files = [p for p in sorted(TEST_DATA.rglob("*")) if p.is_file() and p.name != "SOURCES.md"]
    assert len(files) > 40  # the OR-Library instances, the Open311 schemas, Seattle's 2015 rows
    unlisted = [str(p.relative_to(TEST_DATA)) for p in files
                if hashlib.sha256(p.read_bytes()).hexdigest() not in listed]
    assert not unlisted, f"add to tests/data/SOURCES.md with origin, license and sha256: {unlisted}"
