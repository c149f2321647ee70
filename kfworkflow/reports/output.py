"""Writing a document to a file in one of the formats, replacing the file atomically."""

from __future__ import annotations

from pathlib import Path

from kfworkflow.errors import InputError
from kfworkflow.files import atomic_write
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
    payload = text.encode("utf-8")
    atomic_write(path, lambda handle: handle.write(payload))
