"""The explorers driven in a real browser: Voilà serves 03-server-inventory.ipynb, headless
Chromium (Debian's /usr/bin/chromium, through Playwright) changes the controls.

The notebook is copied into a temporary folder first, so Voilà's kernel runs there and
the CSV it exports stays out of the repository. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03-server-inventory.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOAD_TIMEOUT_MS = 90_000
STEP_TIMEOUT_MS = 30_000

if os.environ.get("CI") == "true":  # CI installs all of it: a missing piece is a failure there
    import playwright.sync_api as sync_api
    import voila  # noqa: F401

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing (tests/install-and-run.sh installs it)"
else:
    pytest.importorskip("voila", reason="Voilà is not installed (pip install voila)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"voila did not listen on port {port} within {timeout}s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """Voilà on 127.0.0.1 serving a copy of the inventory notebook; yields (url, its folder)."""
    work = tmp_path_factory.mktemp("voila")
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OS_") and k not in ("CPEXPLORE_PROFILE", "MPLBACKEND")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
    log = work / "voila.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "voila",
                NOTEBOOK.name,
                "--no-browser",
                f"--port={port}",
                "--Voila.ip=127.0.0.1",
                "--show_tracebacks=True",
            ],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_listening(port, proc, log)
        yield f"http://127.0.0.1:{port}/", work
    finally:
        proc.terminate()  # Voilà shuts its kernels down on SIGTERM
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def page(voila_url):
    url, _work = voila_url
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 1000})
            pg.goto(url, timeout=LOAD_TIMEOUT_MS)
            pg.wait_for_selector(".cpx-endpoint-table table", timeout=LOAD_TIMEOUT_MS)
            pg.wait_for_selector(".cpx-inventory-summary table", timeout=LOAD_TIMEOUT_MS)
            pg.wait_for_selector(".cpx-endpoint-plot img", timeout=LOAD_TIMEOUT_MS)
            pg.wait_for_selector(".cpx-inventory-plot img", timeout=LOAD_TIMEOUT_MS)
            yield pg
        finally:
            browser.close()


# ------------------------------------------------------------------------ helpers

_READ_TABLE = """(el) => {
  const t = el.querySelector('table');
  if (!t) return null;
  const heads = [...t.querySelectorAll('thead th')].map(x => x.textContent);
  const rows = [...t.querySelectorAll('tbody tr')].map(
      r => [...r.querySelectorAll('td')].map(x => x.textContent));
  return {heads, rows};
}"""


def read_table(page, selector: str) -> list[dict[str, str]]:
    got = page.locator(selector).first.evaluate(_READ_TABLE)
    return [dict(zip(got["heads"], row, strict=False)) for row in got["rows"]]


def text_of(page, selector: str) -> str:
    return page.locator(selector).first.inner_text()


def img_src(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def wait_changed(page, selector: str, old: str, what: str = "innerText") -> None:
    """Wait until the first element matching ``selector`` has a different ``what``."""
    page.wait_for_function(
        """([sel, old, what]) => {
            const el = document.querySelector(sel);
            if (!el) return false;
            const now = what === 'src' ? el.getAttribute('src') : el.innerText;
            return now !== null && now !== old;
        }""",
        arg=[selector, old, what],
        timeout=STEP_TIMEOUT_MS,
    )


def dropdown(page, scope: str, label: str):
    """The <select> of the ipywidgets Dropdown whose description starts with ``label``."""
    box = page.locator(f"{scope} .widget-dropdown").filter(
        has=page.locator("label", has_text=label)
    )
    return box.locator("select").first


def choose(select, value_prefix: str) -> None:
    """Select the option whose text starts with ``value_prefix`` (labels carry counts)."""
    labels = [t.replace("\xa0", " ") for t in select.locator("option").all_inner_texts()]
    label = next(t for t in labels if t.startswith(value_prefix))
    select.select_option(label=label)


# ------------------------------------------------------------------------ tests


def test_catalog_region_and_interface_change_the_table_and_the_plot(page):
    scope = ".cpx-catalog-explorer"
    table_sel = f"{scope} .cpx-endpoint-table"
    plot_img = f"{scope} .cpx-endpoint-plot img"
    start = read_table(page, table_sel)
    assert start and {r["interface"] for r in start} == {"public"}
    assert {r["region_id"] for r in start} >= {"region0", "region1"}
    plot0 = img_src(page, f"{scope} .cpx-endpoint-plot")
    assert plot0.startswith("data:image/png;base64,")

    region = dropdown(page, scope, "Catalog region (which endpoint to call)")
    old = text_of(page, table_sel)
    choose(region, "region1 (")
    wait_changed(page, table_sel, old)
    wait_changed(page, plot_img, plot0, "src")
    rows = read_table(page, table_sel)
    assert rows and {r["region_id"] for r in rows} == {"region1"}
    assert {r["interface"] for r in rows} == {"public"}
    assert [r["service_type"] for r in rows] == ["compute_v2"]
    plot1 = img_src(page, f"{scope} .cpx-endpoint-plot")
    assert plot1 != plot0
    page.locator(scope).first.screenshot(path=ARTIFACTS / "browser-catalog-region1-public.png")

    old = text_of(page, table_sel)
    page.locator(f"{scope} .widget-toggle-buttons button", has_text="internal").first.click()
    wait_changed(page, table_sel, old)
    wait_changed(page, plot_img, plot1, "src")
    rows = read_table(page, table_sel)
    assert [(r["region_id"], r["interface"], r["url"]) for r in rows] == [
        ("region1", "internal", "https://region1-region:30888")
    ]
    assert "1 of 18 endpoints" in page.locator(scope).first.inner_text()
    assert img_src(page, f"{scope} .cpx-endpoint-plot") not in (plot0, plot1)
    page.locator(scope).first.screenshot(path=ARTIFACTS / "browser-catalog-region1-internal.png")

    # back to the overview for the README screenshot
    old = text_of(page, table_sel)
    page.locator(f"{scope} .widget-toggle-buttons button", has_text="public").first.click()
    choose(region, "all (")
    wait_changed(page, table_sel, old)
    page.wait_for_function(
        """(sel) => document.querySelector(sel).innerText.includes('region0')""",
        arg=table_sel,
        timeout=STEP_TIMEOUT_MS,
    )
    page.locator(scope).first.screenshot(path=ARTIFACTS / "catalog-explorer.png")


def test_inventory_group_by_catalog_region_and_export(page, voila_url):
    _url, work = voila_url
    scope = ".cpx-inventory-explorer"
    summary_sel = f"{scope} .cpx-inventory-summary"
    plot_img = f"{scope} .cpx-inventory-plot img"
    rows = read_table(page, summary_sel)
    assert rows and "Status" in rows[0] and rows[0]["Status"] == "running"
    plot0 = img_src(page, f"{scope} .cpx-inventory-plot")

    old = text_of(page, summary_sel)
    choose(dropdown(page, scope, "Group by"), "Hypervisor")
    wait_changed(page, summary_sel, old)
    wait_changed(page, plot_img, plot0, "src")
    rows = read_table(page, summary_sel)
    assert {r["Hypervisor"] for r in rows} == {"kvm", "aliyun"}
    plot1 = img_src(page, f"{scope} .cpx-inventory-plot")

    # the catalog region is which endpoint is asked: "all" adds region1's aws and esxi VMs
    old = text_of(page, summary_sel)
    choose(dropdown(page, scope, "Catalog region (which endpoint to call)"), "all (")
    wait_changed(page, summary_sel, old)
    wait_changed(page, plot_img, plot1, "src")
    rows = read_table(page, summary_sel)
    assert {r["Hypervisor"] for r in rows} == {"kvm", "aliyun", "aws", "esxi"}
    status = page.locator(scope).first.inner_text()
    assert "from catalog region region0, region1" in status

    before = img_src(page, f"{scope} .cpx-inventory-plot")
    choose(dropdown(page, scope, "Colour by"), "Status")
    wait_changed(page, plot_img, before, "src")
    page.locator(scope).first.screenshot(path=ARTIFACTS / "inventory-explorer.png")

    # the cloud region is where VMs live: a filter on the rows
    old = text_of(page, summary_sel)
    before = img_src(page, f"{scope} .cpx-inventory-plot")
    choose(dropdown(page, scope, "Cloud region (where VMs live)"), "AWS/")
    wait_changed(page, summary_sel, old)
    wait_changed(page, plot_img, before, "src")
    rows = read_table(page, summary_sel)
    assert [r["Hypervisor"] for r in rows] == ["aws"]
    shown = int(rows[0]["servers"].replace(",", ""))

    page.locator(f"{scope} button", has_text="Export CSV").first.click()
    page.wait_for_selector(f"{scope} .cpx-info", timeout=STEP_TIMEOUT_MS)
    message = page.locator(f"{scope} .cpx-info").first.inner_text()
    assert message.startswith(f"Wrote {shown:,} servers to ")
    written = Path(message.split(" to ", 1)[1].strip())
    assert written.parent == (work / "exports").resolve() and written.exists()
    lines = written.read_text(encoding="utf-8").splitlines()
    assert len(lines) == shown + 1
    page.screenshot(path=ARTIFACTS / "browser-full-page.png", full_page=True)
