"""The import contracts cover every domain: generated from one list, and nothing left out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from govshare.core import domains

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "src" / "govshare"
spec = importlib.util.spec_from_file_location("gen_contracts", ROOT / "scripts" /
                                              "gen_contracts.py")
assert spec and spec.loader
gen_contracts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gen_contracts)


def packages() -> list[str]:
    return sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").is_file())


def test_every_package_is_a_domain_the_kernel_or_the_composition() -> None:
    known = {*domains.DOMAINS, domains.KERNEL, *domains.COMPOSITION}
    stray = [p for p in packages() if p not in known]
    assert not stray, (f"{stray} is in no list of govshare.core.domains: add it to "
                       "DOMAIN_LAYERS (or COMPOSITION) and run scripts/gen_contracts.py")


def test_the_contracts_in_pyproject_are_the_generated_ones() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert gen_contracts.rewrite(text) == text, (
        "pyproject.toml's import contracts are stale: run scripts/gen_contracts.py")


def test_every_domain_appears_in_every_kind_of_contract() -> None:
    generated = gen_contracts.contracts()
    present = [p for p in packages() if p in domains.DOMAINS]
    assert present, "no domain found"
    for dom in present:
        assert f'"govshare.{dom}",' in generated.split("Inside a domain")[1].split(
            "[[tool")[0], f"{dom} is not a container of the inner-layer contract"
        assert f"govshare.{dom}" in generated.split("Domains follow")[1].split("[[tool")[0]
        assert f'source_modules = ["govshare.{dom}"]' in generated, (
            f"{dom} has no contract limiting what it imports of other domains")
        if (PKG / dom / "calc.py").is_file():
            assert f'"govshare.{dom}.calc",' in generated, f"{dom}.calc has no purity contract"


def test_the_generator_sees_a_new_domain(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A package added under govshare/ (here: a fake carbon with a calc) lands in every
    contract without anyone editing them."""
    fake = tmp_path / "govshare"
    for name in packages():
        (fake / name).mkdir(parents=True)
        (fake / name / "__init__.py").write_text("")
        (fake / name / "models.py").write_text("")
    for m in ("__init__", "calc", "models", "service", "pages"):
        (fake / "carbon").mkdir(exist_ok=True)
        (fake / "carbon" / f"{m}.py").write_text("")
    monkeypatch.setattr(gen_contracts, "PKG", fake)
    generated = gen_contracts.contracts()
    assert '"govshare.carbon",' in generated
    assert 'source_modules = ["govshare.carbon"]' in generated
    assert '"govshare.carbon.calc",' in generated
    assert '"govshare.carbon.pages",' in generated  # forbidden to the others
