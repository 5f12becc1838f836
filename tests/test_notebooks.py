"""Executes every tutorial notebook and checks its `.ipynb` against its source.

`notebooks/NN_*.py` (jupytext percent format) is the source of truth. Each is
converted with jupytext and executed with nbclient in a fresh `python3` kernel
(the interpreter running the tests), in a temporary working directory, with
the notebook's own `FAST = True` defaults. A notebook declares in comment tags

    # writes: 01_gaussian_1d.png 01_score_field.png
    # requires: shared

the figures it must leave in its working directory, and whether it needs the
`../shared` folder of reference checkpoints and data (skipped when absent).
The kernel gets `KERAS_MIYASAWA_REPO` (this repository, to find `../shared`
from the temporary directory), `KERAS_MIYASAWA_CHECKPOINT_DIR` (when
`../shared` exists) and a temporary `KERAS_MIYASAWA_HOME`.
"""

import re
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHARED = ROOT / ".." / "shared"
CHECKPOINTS = SHARED / "reference" / "checkpoints"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
TIMEOUT = 600  # seconds per cell


def _tags(text, name):
    """The words after every `# name:` comment line of the source."""
    pattern = rf"^#\s*{name}:\s*(.*)$"
    return [w for line in re.findall(pattern, text, re.M) for w in line.split()]


def _ids(paths):
    return [path.stem for path in paths]


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_notebook_executes(source, tmp_path, monkeypatch):
    text = source.read_text()
    if "shared" in _tags(text, "requires") and not CHECKPOINTS.is_dir():
        pytest.skip(f"{source.name} requires ../shared (reference checkpoints)")
    notebook = jupytext.reads(text, fmt="py:percent")
    # The kernel must be this interpreter (the venv), not a global python.
    check = f"import sys\nassert sys.prefix == {sys.prefix!r}, sys.prefix"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(check))
    # The venv's kernelspec first (it runs `python`, i.e. sys.executable).
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_MIYASAWA_REPO", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    if CHECKPOINTS.is_dir():
        monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(CHECKPOINTS.resolve()))
    work = tmp_path / "work"
    work.mkdir()
    client = nbclient.NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()  # raises CellExecutionError on any error
    figures = _tags(text, "writes")
    assert figures, f"{source.name} declares no figures (# writes: ...)"
    missing = [name for name in figures if not (work / name).is_file()]
    assert not missing, f"{source.name} did not write {missing}"
    empty = [name for name in figures if (work / name).stat().st_size < 1000]
    assert not empty, f"{source.name} wrote near-empty figures {empty}"


@pytest.mark.parametrize("source", SOURCES, ids=_ids(SOURCES))
def test_ipynb_in_sync_with_source(source):
    committed = source.with_suffix(".ipynb")
    assert committed.is_file(), (
        f"{committed.name} is missing; run `make notebooks` to generate it"
    )
    expected = jupytext.reads(source.read_text(), fmt="py:percent")
    actual = nbformat.read(committed, as_version=4)

    def cells(nb):
        return [(cell.cell_type, cell.source.strip()) for cell in nb.cells]

    assert cells(actual) == cells(expected), (
        f"{committed.name} differs from {source.name}; run `make notebooks`"
    )
    outputs = [c for c in actual.cells if c.cell_type == "code" and c.outputs]
    assert not outputs, f"{committed.name} is committed with outputs"


def test_notebooks_found():
    assert SOURCES, "no notebooks/NN_*.py found"
