"""Outputs appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from bayes_mmm.core import atomic


def test_folder_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "run"
    with atomic.folder(target) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (target / "a.txt").read_text() == "first"
    with pytest.raises(KeyboardInterrupt), atomic.folder(target, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("half")
        raise KeyboardInterrupt  # Ctrl-C in the middle of writing
    assert (target / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder left
    with pytest.raises(FileExistsError, match="exists and is not empty"), atomic.folder(target):
        pass


def test_write_text_is_atomic_and_readable(tmp_path: Path) -> None:
    path = atomic.write_text(tmp_path / "s.json", "{}")
    assert path.read_text() == "{}"
    assert path.stat().st_mode & 0o044  # readable by others, like any file
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_a_pipe_is_never_replaced_by_an_output_even_with_force(tmp_path: Path) -> None:
    """`allocate --out /dev/null --force` swapped the machine's /dev/null for a plain file; a FIFO stands in for it."""
    import os
    import stat

    from bayes_mmm.core.errors import DataError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for write in (lambda: atomic.ensure_file_writable(fifo, force=True), lambda: atomic.write_text(fifo, "plan")):
        with pytest.raises(DataError, match=r"is not a regular file \(a device, pipe or socket\): writing the output would replace it"):
            write()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
