"""Every notebook in notebooks/ runs top to bottom, against a sandbox it starts itself.

Each notebook is executed with nbclient in a fresh kernel whose environment has no
``OS_*`` settings and no ``CPEXPLORE_PROFILE`` (so it must fall back to the sandbox and
say so), whose working directory is a temporary folder (so files the notebooks write
stay out of the repository), and whose matplotlib backend is Agg. The inventory notebook
is also a Voilà dashboard: its prose is marked to be left out of the rendered page
(test_browser.py checks the page Voilà serves).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = [
    "01-quickstart.ipynb",
    "02-catalog-explorer.ipynb",
    "03-server-inventory.ipynb",
    "04-reports.ipynb",
]
DASHBOARD = NOTEBOOKS / "03-server-inventory.ipynb"


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_four_notebooks_are_there():
    names = [p.name for p in notebook_paths()]
    assert names[: len(EXPECTED)] == EXPECTED  # later ones may follow


def hidden_in_voila(cell) -> bool:
    """Whether nbconvert's templates (Voilà's among them) leave the cell's source out."""
    return bool(cell.metadata.get("transient", {}).get("remove_source"))


def test_the_dashboard_shows_its_title_and_cells_and_hides_its_prose():
    nb = nbformat.read(DASHBOARD, as_version=4)
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert markdown[0].source == "# Server inventory" and not hidden_in_voila(markdown[0])
    assert all(hidden_in_voila(c) for c in markdown[1:])
    assert not any(hidden_in_voila(c) for c in nb.cells if c.cell_type == "code")
    # the lab template Voilà extends renders the title and none of the prose ...
    from nbconvert import HTMLExporter

    def phrase(cell) -> str:
        words = re.sub(r"[#*`]", "", cell.source.splitlines()[-1]).split()  # a prose line
        return " ".join(words[1:5])

    def render(notebook) -> str:
        page, _ = HTMLExporter(template_name="lab", exclude_input=True).from_notebook_node(notebook)
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))

    page = render(nb)
    assert "Server inventory" in page
    assert [phrase(c) for c in markdown[1:] if phrase(c) in page] == []
    # ... which it would show without the marks
    for cell in markdown:
        cell.metadata.pop("transient", None)
    page = render(nb)
    assert all(phrase(c) in page for c in markdown[1:])


def test_binder_postbuild_warms_the_caches_a_first_render_would_fill(tmp_path):
    import subprocess
    import sys

    script = NOTEBOOKS.parent / "binder" / "postBuild"
    assert os.access(script, os.X_OK), "repo2docker runs binder/postBuild only if executable"
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(NOTEBOOKS.parent), env.get("PYTHONPATH")])
    )
    subprocess.run(["bash", str(script)], env=env, check=True, timeout=120)
    assert list((tmp_path / "mpl").glob("fontlist-*.json"))  # matplotlib's font cache


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has a count"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_on_a_sandbox(path: Path, tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("OS_") or name in ("CPEXPLORE_PROFILE", "YUNION_INSECURE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    code = [c for c in nb.cells if c.cell_type == "code"]
    first = "".join(o.get("text", "") for o in code[0].outputs if o.output_type == "stream")
    assert "started a local sandbox Cloudpods" in first, "the first cell must say it uses a sandbox"
    assert "OS_AUTH_URL" in first
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors}"
    # the markdown tells a reader how to use a real cloud instead
    markdown = " ".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "OS_AUTH_URL" in markdown and "sandbox" in markdown
