"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from kfworkflow.errors import InputError


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a temp file beside ``path`` and rename it over ``path`` (atomic on one volume)."""
    directory = path.parent
    if not directory.is_dir():
        raise InputError(f"{path}: cannot write: folder {directory} does not exist")
    temporary = directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
