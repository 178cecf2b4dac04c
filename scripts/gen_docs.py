"""Regenerate docs/settings.md and docs/cli.md from the code (tests check they are current)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer.main

from govshare.cli import app
from govshare.core.settings import settings_reference

ROOT = Path(__file__).resolve().parents[1]


def settings_md() -> str:
    lines = [
        "# Settings", "",
        "Every setting is an environment variable with the `GOVSHARE_` prefix, read into one",
        "typed object (`govshare.core.settings.Settings`). `govshare settings` prints this table",
        "from the code; `tests/core/test_docs.py` fails if this file is not current",
        "(regenerate it with `.venv/bin/python scripts/gen_docs.py`).", "",
        "| variable | default | description |", "|---|---|---|",
    ]
    for r in settings_reference():
        default = f"`{r['default']}`" if r["default"] else "—"
        lines.append(f"| `{r['env']}` | {default} | {r['description']} |")
    lines += [
        "",
        "Outside development (`GOVSHARE_ENV=production`) a missing or placeholder secret key is",
        "refused at start-up, and cookies are always `Secure`. In development and test the key",
        "is generated on first run and kept in `<data_dir>/secret_key` (mode 0600).",
    ]
    return "\n".join(lines) + "\n"


def _walk(cmd, path):  # type: ignore[no-untyped-def]
    sub = getattr(cmd, "commands", None)
    if sub:
        for name in sorted(sub):
            yield from _walk(sub[name], [*path, name])
    else:
        yield path, cmd


def cli_commands() -> list[tuple[str, str]]:
    root = typer.main.get_command(app)
    out = []
    for path, cmd in _walk(root, []):
        help_text = (cmd.help or "").strip().splitlines()[0] if cmd.help else ""
        out.append(("govshare " + " ".join(path), help_text))
    return out


def cli_md() -> str:
    lines = [
        "# Command line", "",
        "`govshare --help` and `govshare COMMAND --help` give every option. Every command that",
        "writes runs as one transaction: it changes everything or nothing. Exit codes: 0 done,",
        "1 refused (conflict, not found, not allowed), 2 bad input, 3 `locate`: outside the",
        "region, 4 `locate --address`: the address cannot be placed exactly.",
        "", "| command | what it does |", "|---|---|",
    ]
    lines += [f"| `{c}` | {h} |" for c, h in cli_commands()]
    return "\n".join(lines) + "\n"


def main() -> int:
    (ROOT / "docs" / "settings.md").write_text(settings_md())
    (ROOT / "docs" / "cli.md").write_text(cli_md())
    return 0


if __name__ == "__main__":
    sys.exit(main())
