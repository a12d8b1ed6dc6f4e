"""Every notebook in notebooks/ runs top to bottom, against a sandbox it starts itself.

Each notebook is executed with nbclient in a fresh kernel whose environment has no
``OS_*`` settings and no ``CPEXPLORE_PROFILE`` (so it must fall back to the sandbox and
say so), whose working directory is a temporary folder (so files the notebooks write
stay out of the repository), and whose matplotlib backend is Agg.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = [
    "01-quickstart.ipynb",
    "02-catalog-explorer.ipynb",
    "03-server-inventory.ipynb",
    "04-reports.ipynb",
]


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_four_notebooks_are_there():
    assert [p.name for p in notebook_paths()] == EXPECTED


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
