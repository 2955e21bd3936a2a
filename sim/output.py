"""Writing output files so that a failure never leaves a partial file behind.

Every file is written to a temporary file in its folder and renamed over the target, with the
permissions a plain ``open(path, "w")`` would give (0666 minus the umask). A directory, an
unwritable place or a file where a folder is expected is a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sim.config import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_path(path: str | Path) -> Path:
    """Refuse an output ``path`` that cannot become a file; returns it as a Path."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(path, "is a directory, expected a file to write")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(path, f"cannot write: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise ConfigError(path, f"cannot write: no permission to create files in "
                                  f"{parent}")
            break
    return path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    write_texts_atomic([(path, text)])


def write_texts_atomic(files: list[tuple[str | Path, str]]) -> None:
    """Write several files, all or none: every temporary file is complete before any rename."""
    write_files_atomic([(path, text_writer(text)) for path, text in files])


def write_files_atomic(files: list[tuple[str | Path, Callable[[Path], None]]]) -> None:
    """Call each writer on a temporary path, then rename them all into place (all or none).

    A writer is ``write(temporary_path)``. If any writer fails, no target is touched.
    """
    targets = [check_output_path(path) for path, _ in files]
    if len(set(map(os.path.abspath, targets))) != len(targets):
        raise ConfigError(targets[0], "the same file is given for two outputs")
    ready: list[tuple[Path, Path]] = []
    try:
        for target, (_, write) in zip(targets, files, strict=True):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix,
                                                dir=target.parent)
                os.close(handle)
            except OSError as error:
                raise ConfigError(target, f"cannot write: {error.strerror}") from None
            ready.append((Path(name), target))
            write(Path(name))
            os.chmod(name, 0o666 & ~_umask())
        for temporary, target in ready:
            try:
                os.replace(temporary, target)
            except OSError as error:
                raise ConfigError(target, f"cannot write: {error.strerror}") from None
    finally:
        for temporary, _ in ready:
            temporary.unlink(missing_ok=True)


def text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")
    return write
