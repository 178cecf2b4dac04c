"""What the browser tests share besides fixtures: paths, sign-in, axe-core, screenshots."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# The system Chromium (DESIGN.md); another path only for a machine that keeps it elsewhere.
CHROMIUM = Path(os.environ.get("GOVSHARE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
AXE = ROOT / "src" / "govshare" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ADMIN_EMAIL = "admin@demo.govshare.org"
DEMO_PASSWORD = "demo-password-2026"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 700}


def sign_in(page: Any, email: str = ADMIN_EMAIL, password: str = DEMO_PASSWORD,
            next_path: str | None = None) -> Any:
    """Sign in through the login form, as a person would. Returns the response it led to."""
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in").click()
    return nav.value


def wait_for_map(page: Any) -> Any:
    """Wait until region-map.js has drawn the boundaries (or failed, which the caller sees)."""
    page.wait_for_selector("#region-map[data-ready='true'], #region-map[data-error]",
                           state="attached")
    return page.locator("#region-map")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core with its default rule set (WCAG 2.x A and AA, and best practices)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document);
        return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, tags: v.tags,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                                     summary: n.failureSummary}))
        }));
    }""")
    return list(result)


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for n in v["nodes"][:5]:
            lines.append(f"    {n['target']}: {n['html']}")
            lines.append("      " + (n["summary"] or "").replace("\n", "\n      "))
    return "\n".join(lines)


def assert_accessible(page: Any, name: str) -> None:
    """The checks every page state gets: one top-level heading, a screenshot to look at, and
    no axe-core violations (listed in the failure message)."""
    assert page.locator("h1").count() == 1, "one top-level heading per page"
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url}:\n{describe_violations(violations)}"


def screenshot(page: Any, name: str) -> Path:
    """Full-page PNG under test-artifacts/screenshots/ (gitignored), for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def horizontal_overflow(page: Any) -> dict[str, Any]:
    """How far the page is wider than the viewport, and which elements stick out."""
    return dict(page.evaluate("""() => {
        const vw = document.documentElement.clientWidth;
        const wide = [];
        for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > vw + 1 && getComputedStyle(el).position !== 'fixed') {
                wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                          (el.className && typeof el.className === 'string'
                             ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
                          ' right=' + Math.round(r.right));
            }
        }
        return {viewport: vw, scrollWidth: document.documentElement.scrollWidth,
                elements: wide.slice(0, 10)};
    }"""))
