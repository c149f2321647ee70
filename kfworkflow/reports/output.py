"""Writing a document to a file in one of the formats, replacing the file atomically."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from kfworkflow.errors import InputError
from kfworkflow.reports.context import Document
from kfworkflow.reports.render import Renderer
from kfworkflow.reports.xlsx import write_document_xlsx

FORMATS = ("md", "html", "xlsx")


def write_document(doc: Document, fmt: str, path: Path, *, lang: str = "zh",
                   template_dir: Path | None = None) -> Path:
    """Render ``doc`` as ``fmt`` into ``path``; the renderer is checked before anything is
    written, so a broken template leaves an existing file as it was."""
    if fmt not in FORMATS:
        raise InputError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "xlsx":
        write_document_xlsx(doc, path, lang)
    else:
        write_text(path, Renderer(lang, template_dir).document(doc, fmt))
    return path


def write_text(path: Path, text: str) -> None:
    """UTF-8 text through a temporary file beside ``path`` and a rename."""
    directory = path.parent
    if not directory.is_dir():
        raise InputError(f"{path}: cannot write: folder {directory} does not exist")
    temporary = directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        with temporary.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
