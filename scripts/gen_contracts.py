"""Regenerate the import-linter contracts in pyproject.toml from ``govshare.core.domains``.

Every domain that exists under ``src/govshare`` gets a place in every contract: the layer order
between domains, the layers inside it, the rule that other domains reach it only through its
public modules, and the purity of its ``calc``. ``tests/core/test_contracts.py`` fails when
pyproject.toml differs from what this writes, or when a package under ``govshare/`` is in
none of ``DOMAINS``, ``KERNEL`` or ``COMPOSITION``. Run: ``.venv/bin/python
scripts/gen_contracts.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from govshare.core import domains as d

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "govshare"
BEGIN = "# BEGIN generated import contracts (scripts/gen_contracts.py; do not edit by hand)"
END = "# END generated import contracts"


def existing(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if (PKG / n / "__init__.py").is_file()]


def modules_of(domain: str) -> list[str]:
    """The domain's top-level modules and sub-packages (names only)."""
    base = PKG / domain
    out = [p.stem for p in base.glob("*.py") if p.stem != "__init__"]
    out += [p.name for p in base.iterdir() if (p / "__init__.py").is_file()]
    return sorted(out)


def _list(items: list[str], indent: str = "  ") -> str:
    return "[\n" + "".join(f"{indent}{json.dumps(i)},\n" for i in items) + "]"


def _layer(names: tuple[str, ...], sep: str = "|") -> str:
    """One layer of module names, each optional (``(name)``): not every container has each."""
    return f" {sep} ".join(f"({n})" for n in names)


def contracts() -> str:
    doms = existing(d.DOMAINS)
    layers = ["govshare.cli | govshare.web | govshare.migrations"]
    for layer in reversed(d.DOMAIN_LAYERS):
        present = [f"govshare.{n}" for n in layer if n in doms]
        if present:
            layers.append(" | ".join(present))
    layers.append("govshare.core")
    order = " -> ".join(" | ".join(n for n in layer if n in doms)
                        for layer in reversed(d.DOMAIN_LAYERS)
                        if any(n in doms for n in layer))
    out = [BEGIN, "",
           "[[tool.importlinter.contracts]]",
           f'name = "Domains follow the dependency order web | cli -> {order} -> core"',
           'type = "layers"',
           f"layers = {_list(layers)}", ""]

    # The top layer's modules may import each other (':'), the others may not ('|').
    inner = [_layer(layer, ":" if i == 0 else "|") for i, layer in enumerate(d.INNER_LAYERS)]
    out += ["[[tool.importlinter.contracts]]",
            'name = "Inside a domain: api | pages | cli -> service -> queries -> schemas -> '
            'models"',
            'type = "layers"',
            f"containers = {_list([f'govshare.{n}' for n in doms])}",
            f"layers = {_list(inner)}",
            "exhaustive = false", ""]

    for sub, sub_layers in d.SUBPACKAGE_LAYERS.items():
        if not (PKG / sub.replace(".", "/") / "__init__.py").is_file():
            continue
        out += ["[[tool.importlinter.contracts]]",
                f'name = "Inside {sub}: its own layers, top first"',
                'type = "layers"',
                f'containers = ["govshare.{sub}"]',
                f"layers = {_list([_layer(layer) for layer in sub_layers])}",
                "exhaustive = false", ""]

    for dom in doms:
        forbidden = [f"govshare.{other}.{m}" for other in doms if other != dom
                     for m in modules_of(other) if m not in d.PUBLIC_MODULES]
        if not forbidden:
            continue
        out += ["[[tool.importlinter.contracts]]",
                f'name = "{dom} reaches other domains only through their '
                f'{", ".join(d.PUBLIC_MODULES)}"',
                'type = "forbidden"',
                f'source_modules = ["govshare.{dom}"]',
                f"forbidden_modules = {_list(forbidden)}",
                "allow_indirect_imports = true", ""]

    for dom in doms:
        pure = [f"govshare.{dom}.{m}" for m in d.PURE_MODULES
                if (PKG / dom / f"{m}.py").is_file()]
        if not pure:
            continue
        own = [f"govshare.{dom}.{m}" for m in modules_of(dom)
               if m in ("models", "queries", "service", "api", "pages", "cli")]
        forbidden = [*d.PURE_FORBIDDEN_EXTERNAL, "govshare.web", "govshare.cli",
                     "govshare.core.db", "govshare.core.http",
                     *[f"govshare.{o}" for o in doms if o != dom], *own]
        out += ["[[tool.importlinter.contracts]]",
                f'name = "{dom}: {", ".join(m.rsplit(".", 1)[1] for m in pure)} '
                'stay pure (no database, web or other domain)"',
                'type = "forbidden"',
                f"source_modules = {_list(pure)}",
                f"forbidden_modules = {_list(forbidden)}",
                "allow_indirect_imports = true", ""]
    out.append(END)
    return "\n".join(out) + "\n"


def rewrite(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END) + 1
    return text[:start] + contracts() + text[end:]


if __name__ == "__main__":
    path = ROOT / "pyproject.toml"
    new = rewrite(path.read_text())
    path.write_text(new)
    sys.stdout.write("pyproject.toml: import contracts regenerated\n")
