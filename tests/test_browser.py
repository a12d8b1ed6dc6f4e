"""The explorers driven in a real browser: Voilà serves 03-server-inventory.ipynb, headless
Chromium (Debian's /usr/bin/chromium, through Playwright) changes the controls.

The notebook is copied into a temporary folder first, so Voilà's kernel runs there (and
the test can see that Export CSV writes nothing on the server). Screenshots and the time
the first render took go to ``test-artifacts/``. With ``CI=true`` a missing Voilà,
Playwright or Chromium is a failure, not a skip.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

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


class _Voila:
    """Voilà on 127.0.0.1 serving a copy of the inventory notebook, restartable."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> None:
        port = _free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("OS_") and k not in ("CPEXPLORE_PROFILE", "MPLBACKEND")
        }
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["JUPYTER_RUNTIME_DIR"] = str(self.work / "runtime")
        log = self.work / "voila.log"
        with log.open("w") as out:
            self.proc = subprocess.Popen(
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
                cwd=self.work,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_listening(port, self.proc, log)
        self.url = f"http://127.0.0.1:{port}/"

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()  # Voilà shuts its kernels down on SIGTERM
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory) -> Iterator[_Voila]:
    """Voilà on 127.0.0.1 serving a copy of the inventory notebook."""
    work = tmp_path_factory.mktemp("voila")
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    voila = _Voila(work)
    voila.start()
    try:
        yield voila
    finally:
        voila.stop()


@pytest.fixture(scope="module")
def page(voila_url):
    voila = voila_url
    work = voila.work
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
            started = time.monotonic()
            try:
                pg.goto(voila.url, timeout=LOAD_TIMEOUT_MS)
            except sync_api.TimeoutError:
                # a kernel that stops answering (a rare ipykernel/zmq start-up hang, not the
                # dashboard's doing) gets one more chance in a fresh Voilà
                voila.stop()
                voila.start()
                started = time.monotonic()
                try:
                    pg.goto(voila.url, timeout=LOAD_TIMEOUT_MS)
                except sync_api.TimeoutError:
                    log = (work / "voila.log").read_text(errors="replace")[-3000:]
                    pytest.fail(
                        f"Voilà did not render {NOTEBOOK.name} in {LOAD_TIMEOUT_MS // 1000} s, "
                        f"twice (a kernel that stops answering looks like this); the end of "
                        f"voila.log:\n{log}"
                    )
            for selector in (
                ".cpx-endpoint-table table",
                ".cpx-inventory-summary table",
                ".cpx-capacity-table table",
                ".cpx-endpoint-plot img",
                ".cpx-inventory-plot img",
                ".cpx-capacity-plot img",
                "#rendered_cells",  # Voilà shows the cells when every one has run
            ):
                pg.wait_for_selector(selector, state="visible", timeout=LOAD_TIMEOUT_MS)
            took = time.monotonic() - started
            (ARTIFACTS / "voila-first-render.txt").write_text(
                f"{NOTEBOOK.name}: first render (page requested → every widget drawn) {took:.1f} s\n"
            )
            print(f"Voilà first render of {NOTEBOOK.name}: {took:.1f} s")
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


def prose_phrases() -> list[str]:
    """Four words from a prose line of each markdown cell but the title."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    out = []
    for cell in [c for c in cells if c["cell_type"] == "markdown"][1:]:
        line = "".join(cell["source"]).splitlines()[-1]
        out.append(" ".join(re.sub(r"[#*`]", "", line).split()[1:5]))
    return out


def download_link(page, scope: str):
    return page.locator(f"{scope} a.cpx-download-link").first


def decoded_href(link) -> bytes:
    href = link.get_attribute("href") or ""
    head, _, payload = href.partition(",")
    assert head == "data:text/csv;charset=utf-8;base64", head
    return base64.b64decode(payload)


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


def test_the_dashboard_shows_widgets_and_charts_but_not_the_prose(page):
    shown = page.locator("#rendered_cells").first.inner_text()
    assert "Server inventory" in shown  # the title stays
    assert "started a local sandbox Cloudpods" in shown  # so does what the setup cell says
    hidden = [p for p in prose_phrases() if p in shown]
    assert hidden == [] and len(prose_phrases()) >= 4
    assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0  # no code either
    legend = page.locator(".cpx-inventory-explorer .cpx-status-legend").first.inner_text()
    assert "ready = stopped" in legend and "running = powered on" in legend
    page.screenshot(path=ARTIFACTS / "browser-dashboard-top.png")


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


def test_inventory_group_by_catalog_region_and_download(page, voila_url):
    work = voila_url.work
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

    export = page.locator(f"{scope} button", has_text="Export CSV").first
    export.click()
    link = download_link(page, scope)
    link.wait_for(timeout=STEP_TIMEOUT_MS)
    name = link.get_attribute("download") or ""
    assert re.fullmatch(r"servers-region0-region1-\d{8}-\d{6}\.csv", name), name
    assert f"({shown:,} servers, " in page.locator(f"{scope} .cpx-download").first.inner_text()
    data = decoded_href(link)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert len(rows) == shown
    assert {"id", "name", "status", "hypervisor", "cloudregion", "catalog_region"} <= set(rows[0])
    assert {r["hypervisor"] for r in rows} == {"aws"}
    assert all(r["cloudregion"].startswith("AWS/") for r in rows)
    assert all(not r["name"].startswith(("=", "+", "@")) for r in rows)  # formulas escaped
    page.locator(scope).first.screenshot(path=ARTIFACTS / "browser-inventory-download.png")

    # a click downloads exactly that file; nothing was written where the kernel runs
    with page.expect_download(timeout=STEP_TIMEOUT_MS) as got:
        link.click()
    assert got.value.suggested_filename == name
    assert Path(got.value.path()).read_bytes() == data
    assert sorted(p.name for p in work.iterdir() if p.suffix == ".csv") == []
    assert not (work / "exports").exists()

    # a different filter takes the link away: it would offer rows no longer shown
    old = text_of(page, summary_sel)
    before = img_src(page, f"{scope} .cpx-inventory-plot")
    choose(dropdown(page, scope, "Cloud region (where VMs live)"), "all (")
    wait_changed(page, summary_sel, old)
    wait_changed(page, plot_img, before, "src")
    assert download_link(page, scope).count() == 0
    page.screenshot(path=ARTIFACTS / "browser-full-page.png", full_page=True)


def test_the_interface_picker_asks_that_endpoint(page):
    scope = ".cpx-inventory-explorer"
    buttons = page.locator(f"{scope} .widget-toggle-buttons button")
    assert [t.strip() for t in buttons.all_inner_texts()] == ["public", "internal"]
    assert "(public endpoint" in page.locator(scope).first.inner_text()

    # the sandbox's internal URLs are in-cluster names, as in a real deployment: the
    # listing asks them, and the widget says why it cannot reach them
    buttons.filter(has_text="internal").first.click()
    page.wait_for_selector(f"{scope} .cpx-error", timeout=2 * STEP_TIMEOUT_MS)
    message = page.locator(f"{scope} .cpx-error").first.inner_text()
    assert "(internal endpoint) failed" in message
    assert "cannot reach the internal endpoint" in message and "default-region" in message
    page.locator(scope).first.screenshot(path=ARTIFACTS / "browser-inventory-internal.png")

    buttons.filter(has_text="public").first.click()
    page.wait_for_function(
        """(sel) => {
            const el = document.querySelector(sel);
            return el && !el.querySelector('.cpx-error') && el.innerText.includes('(public endpoint');
        }""",
        arg=scope,
        timeout=STEP_TIMEOUT_MS,
    )
    assert read_table(page, f"{scope} .cpx-inventory-summary")


def test_capacity_chart_and_table_agree_and_explain(page):
    scope = ".cpx-capacity-explorer"
    text = page.locator(scope).first.inner_text()
    assert "commit rate = vCPUs (memory) of the host's running servers" in text
    alt = page.locator(f"{scope} .cpx-capacity-plot img").first.get_attribute("alt") or ""
    drawn = [part.rsplit(" ", 1) for part in alt.split(": ", 1)[1].split("; ")]
    rows = read_table(page, f"{scope} .cpx-capacity-table")
    listed = [[r["host"], r["CPU commit rate"]] for r in rows]
    assert drawn[:5] == listed[:5]  # same hosts, same order, same labels
    assert all(rate.endswith("×") for _, rate in listed)
    page.locator(scope).first.screenshot(path=ARTIFACTS / "browser-capacity.png")
