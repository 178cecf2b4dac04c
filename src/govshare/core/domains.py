"""The one list of govshare's domains, lowest first (the dependency order of
``docs/architecture.md``; the import contracts in ``pyproject.toml`` enforce it, and
``tests/core/test_contracts.py`` fails when a package under ``govshare/`` is missing from
this list or from any contract).

Plain names only: ``core`` must not import the domains. ``core.models`` loads each one's
``models`` for Alembic, and the web app loads each one's templates.
"""

from __future__ import annotations

# (domain, layer): domains of one layer are independent siblings and may not import each
# other; a domain may import any domain of a lower layer. outbox sits directly on core and is
# used by anyone.
DOMAIN_LAYERS: tuple[tuple[str, ...], ...] = (
    ("outbox",),
    ("regions",),
    ("geo",),
    ("carbon",),
    ("property", "fleet"),
    ("sites", "frontoffice", "tellusonce"),
    ("casebook",),
)
DOMAINS: tuple[str, ...] = tuple(d for layer in DOMAIN_LAYERS for d in layer)
# Packages that are not domains: the shared kernel below them and the composition above.
KERNEL = "core"
COMPOSITION = ("web", "cli", "migrations")

# The rules the import contracts are generated from (scripts/gen_contracts.py).
# What another domain may import of a domain: its public API. ``planning`` is a read-only
# analysis (property's consolidation plan, fleet's pooling plan) that the casebook turns into
# a proposal (ADR 17).
PUBLIC_MODULES = ("service", "queries", "schemas", "calc", "planning")
# Inside a domain, top first: a module may import those of lower layers only. Modules of the
# top layer may import each other (the CLI runs an import, pages link to the API's helpers);
# the others are layers of one module kind each.
INNER_LAYERS: tuple[tuple[str, ...], ...] = (
    ("api", "pages", "cli", "worker", "receiver", "import_export", "public_window", "open311",
     "importer"),
    ("service", "planning", "value"),
    ("queries",),
    ("schemas",),
    ("models",),
)
# Pure modules: no database, web framework or other domain.
PURE_MODULES = ("calc", "consolidation", "solver")
PURE_FORBIDDEN_EXTERNAL = ("sqlalchemy", "fastapi", "starlette")
# Sub-packages that hold one feature of a domain, with their own layers, top first.
SUBPACKAGE_LAYERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "property.import_export": (("pages",), ("importer", "exporter"), ("presets",), ("fileio",)),
    "property.public_window": (("api", "pages"), ("service",)),
    "frontoffice.open311": (("api",), ("params", "format", "queries")),
}
