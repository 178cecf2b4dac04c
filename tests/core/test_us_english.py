"""US English throughout: the product serves US governments (issue 8 §3: tire, harbor,
centers, license, organization, neutralize ...).

Code, templates, scripts, messages, tests and docs are read for British spellings. Left out:
migrations already applied somewhere (0001-0007: history is not rewritten; 0013 names the old
words it replaces), data files copied as published, and the hostile-input corpus.
"""

from __future__ import annotations

import re

from tests.conftest import ROOT

BRITISH = {
    "tyre": "tire", "harbour": "harbor", "centre": "center", "licence": "license",
    "organisation": "organization", "neutralise": "neutralize", "colour": "color",
    "behaviour": "behavior", "honour": "honor", "metre": "meter", "kilometre": "kilometer",
    "catalogue": "catalog", "analyse": "analyze", "recognise": "recognize",
    "serialise": "serialize", "minimise": "minimize", "labelled": "labeled",
    "labelling": "labeling", "amortise": "amortize", "vectorise": "vectorize",
    "normalise": "normalize", "summarise": "summarize", "optimise": "optimize",
    "sanitise": "sanitize", "authorise": "authorize", "initialise": "initialize",
    "finalise": "finalize", "standardise": "standardize", "realise": "realize",
    "prioritise": "prioritize", "categorise": "categorize", "utilise": "utilize",
    "modelled": "modeled", "modelling": "modeling", "travelled": "traveled",
    "cancelled": "canceled", "judgement": "judgment", "enrolment": "enrollment",
    "rubbish": "trash", "artefact": "artifact", "neighbour": "neighbor",
}
# Stems with their inflections (tyres, neutralised, analysing, catalogues ...), inside
# identifiers too (CATALOGUE, catalogue_manage), but not inside other words.
WORDS = re.compile(r"(?<![A-Za-z])(" + "|".join(
    re.escape(w[:-1]) + r"(?:e|es|ed|ing|ation|er|ers)" if w.endswith("e") and w.endswith(
        ("ise", "yse")) else re.escape(w) + r"(?:s|ing|hood|hoods)?"
    for w in sorted(BRITISH, key=len, reverse=True)
) + r")(?![A-Za-z])", re.IGNORECASE)
# The plural of "analysis" is the same word in both spellings: not a British verb form.
SAME_IN_BOTH = {"analyses"}
SKIP_PARTS = {"static", "corpus", "results", "node_modules", "__pycache__", "data"}
SKIP_FILES = {"tests/core/test_us_english.py", "tests/property/make_corpus.py",
              "tests/core/test_migration_0013.py",
              "src/govshare/migrations/versions/0013_us_english_names.py"}
TEXT = {".py", ".html", ".md", ".js", ".css", ".toml", ".cfg", ".txt"}


def _files() -> list[str]:
    out = []
    for top in ("src", "tests", "bench", "docs", "scripts"):
        for path in (ROOT / top).rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if (not path.is_file() or path.suffix not in TEXT or rel in SKIP_FILES
                    or SKIP_PARTS & set(path.relative_to(ROOT).parts)
                    or any(p.endswith(".egg-info") for p in path.parts)
                    or re.search(r"migrations/versions/000[1-7]_", rel)):
                continue
            out.append(rel)
    out += ["README.md", "Makefile", "pyproject.toml"]
    return sorted(out)


def test_the_pattern_finds_british_spellings_and_nothing_else() -> None:
    for text in ("a car tyre", "Tyres", "harbour noise", "CATALOGUE = [", "catalogue_manage",
                 "neutralised", "analysed", "organisation", "labelled", "rubbish"):
        assert WORDS.search(text), text
    for text in ("a car tire", "harbor", "catalog_manage", "neutralized", "organization",
                 "labeled", "Kintyre", "center", "metrics", "catalogued_x" * 0 + "categories",
                 "two analyses"):
        assert all(m.group(0).lower() in SAME_IN_BOTH for m in WORDS.finditer(text)), text


def test_code_templates_messages_and_docs_are_in_us_english() -> None:
    found = []
    for rel in _files():
        for number, line in enumerate((ROOT / rel).read_text(encoding="utf-8").splitlines(), 1):
            for m in WORDS.finditer(line):
                if m.group(0).lower() in SAME_IN_BOTH:
                    continue
                found.append(f"{rel}:{number}: {m.group(0)}")
    assert not found, "US spellings, please:\n" + "\n".join(found[:80])
