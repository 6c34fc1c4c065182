"""Write outputs whole or not at all: temp file or folder, then rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from bayes_mmm.core.errors import DataError


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary sibling and ``os.replace``."""
    path = Path(path)
    _refuse_special(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); outputs are meant to be shared like any other file.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _refuse_special(path: Path, option: str = "--out") -> None:
    """Refuse a device, pipe or socket as an output: a rename would replace it with a plain file (``/dev/null`` too)."""
    if path.exists() and not path.is_file() and not path.is_dir():
        raise DataError("is not a regular file (a device, pipe or socket): writing the output would replace it, not even "
                        "with --force", file=path, hint=f"give a file name for {option}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_writable(
    path: str | Path, overwrite: bool = False, inputs: Sequence[str | Path | None] = (),
    foreign: Callable[[Path], str | None] | None = None,
) -> None:
    """Refuse a file, a non-empty existing folder (unless ``overwrite``) or an unwritable place for an output folder,
    and always a folder that is, or holds, one of the command's ``inputs`` (replacing it would delete them).

    ``foreign(path)`` says why an existing folder is not this command's kind of output (None: it is);
    ``--overwrite`` then refuses it, since replacing it would delete files the command never wrote.
    Call early, to fail before long work.
    """
    path = Path(path)
    if (i := _input_at(path, inputs)) is not None:
        raise DataError(f"holds this command's input {i}; replacing it would delete the input, not even with --overwrite",
                        file=path, hint="choose a new folder for --out")
    if path.exists() and not path.is_dir():
        raise DataError("is a file, but a folder is needed here", file=path, hint="choose a folder name for --out")
    if path.exists() and any(path.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{path} exists and is not empty; pass overwrite=True (CLI: --overwrite) to replace it")
        if foreign is not None and (why := foreign(path)) is not None:
            raise DataError(f"{why}; --overwrite replaces only what this command writes, never other files", file=path,
                            hint="choose a new folder for --out, or move those files away first")
    _ensure_parent_writable(path)


def ensure_file_writable(path: str | Path, force: bool = False, inputs: Sequence[str | Path | None] = (),
                         option: str = "--out") -> None:
    """Refuse a folder, an existing file (unless ``force``) or an unwritable place for an output file,
    and always one of the command's ``inputs``. ``option`` names the file's option in messages.

    Call early, to fail before long work.
    """
    path = Path(path)
    refuse_input(path, inputs, option)
    if path.is_dir():
        raise DataError("is a folder, but a file is needed here", file=path, hint=f"give a file name for {option}")
    _refuse_special(path, option)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass force=True (CLI: --force) to replace it, or choose another {option}")
    _ensure_parent_writable(path)


def refuse_input(path: str | Path, inputs: Sequence[str | Path | None], option: str = "--out") -> None:
    """Refuse an output ``path`` that is or holds one of the command's ``inputs``, or lies in an input folder: always."""
    if _input_at(Path(path), inputs) is not None:
        raise DataError("is an input of this command; writing the output would replace it, not even with --force",
                        file=path, hint=f"choose another {option}")
    out = Path(path).resolve()
    folder = next((i for i in inputs if i is not None and Path(i).resolve() in out.parents), None)
    if folder is not None:
        raise DataError(f"lies in {folder}, an input folder of this command; outputs are never written among its inputs, "
                        "not even with --force", file=path, hint=f"choose another {option}")


def _input_at(path: Path, inputs: Sequence[str | Path | None]) -> Path | None:
    """The first of ``inputs`` that the output ``path`` is or holds (links resolved), else None."""
    out = path.resolve()
    return next((i for i in (Path(x).resolve() for x in inputs if x is not None) if i == out or out in i.parents), None)


def _ensure_parent_writable(path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder we may write into (missing folders get created)."""
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise DataError(f"cannot write here: {parent} is a file, not a folder", file=path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"cannot write here: no permission to write into {parent}", file=path)
    # Permission bits do not tell everything (root ignores them; /sys, /proc, read-only mounts, immutable folders
    # refuse anyway): a scratch file, removed at once, tells before the work and not after it.
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".bayes-mmm-probe-")
    except OSError as exc:
        raise DataError(f"cannot write here: {parent} refuses new files ({exc.strerror})", file=path,
                        hint="choose an --out in a folder you can write to") from None
    try:
        os.close(fd)
    finally:
        os.unlink(probe)


@contextlib.contextmanager
def folder(path: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``path`` only if the block succeeds.

    On any exception, Ctrl-C included, the temporary folder is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    ensure_writable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old.{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
