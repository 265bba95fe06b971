"""Count the imports that run back up the package's layers (the figure quoted in notes).

The layers, lowest first, are the ones `docs/architecture.md` draws and `.importlinter`
enforces. An import from a module in a lower layer of a module in a higher layer is a
back-import; the registry imports the layers allow on purpose (the Alembic model list) are
reported separately. Usage: `python -m scripts.back_imports [--list]`.
"""

from __future__ import annotations

import sys

import grimp

ROOT = "sbtc_gateway"
# Lowest first. A module belongs to the first entry that is a prefix of its name.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("kernel", ("core", "config", "__init__")),
    ("platform", ("db", "chain", "infra", "observability", "migrations", "devnet", "idempotency")),
    ("http toolkit", ("api",)),
    (
        "domains",
        (
            "events",
            "chainstate",
            "merchants",
            "users",
            "ledger",
            "charges",
            "payments",
            "refunds",
            "settlements",
            "fees",
            "reconciliation",
            "webhooks",
            "checkout",
            "receipts",
            "watcher",
            "operator",
            "analytics",
            "reporting",
            "platform",
            "worker",
        ),
    ),
    ("composition root", ("runtime",)),
    ("processes", ("cli",)),
]
# Registries that must know every model: allowed on purpose.
REGISTRIES = (f"{ROOT}.db.models", f"{ROOT}.migrations")


def layer_of(module: str) -> int | None:
    rest = module.removeprefix(ROOT + ".") if module != ROOT else "__init__"
    top = rest.split(".", 1)[0]
    for index, (_, packages) in enumerate(LAYERS):
        if top in packages:
            return index
    return None


def main(argv: list[str]) -> int:
    graph = grimp.build_graph(ROOT)
    back: list[tuple[str, str]] = []
    registry: list[tuple[str, str]] = []
    unplaced: set[str] = set()
    for importer in sorted(graph.modules):
        if not importer.startswith(ROOT):
            continue
        low = layer_of(importer)
        if low is None:
            unplaced.add(importer)
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if not imported.startswith(ROOT):
                continue
            high = layer_of(imported)
            if high is None or high <= low:
                continue
            if importer.startswith(REGISTRIES):
                registry.append((importer, imported))
            else:
                back.append((importer, imported))
    print(f"back-imports: {len(back)} (registry imports allowed: {len(registry)})")
    if unplaced:
        print("modules in no layer:", ", ".join(sorted(unplaced)))
    if "--list" in argv:
        for importer, imported in back:
            print(f"  {importer} -> {imported}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
