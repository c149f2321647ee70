"""Templates → text: a sandboxed Jinja2 environment per format, user templates first.

A workspace ``templates/`` folder overrides any shipped template of the same name
(``daily.html.j2``, ``layout.html.j2``, ...). An undefined variable is an error with the
template's file and line, never a blank; HTML is autoescaped; Markdown output escapes user text
so that it stays text in any viewer.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from markupsafe import Markup

from kfworkflow.errors import ConfigError, Finding
from kfworkflow.reports import charts
from kfworkflow.reports.context import DailyBulletin, Document, MonthlyRanking, WeeklyList
from kfworkflow.reports.filters import DASH, build_filters, markdown_text
from kfworkflow.reports.messages import messages

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEXT_FORMATS = ("md", "html")
CONTEXT_DOCS = "docs/reference/report-contexts.md"


class ReportTemplateError(ConfigError):
    """A template that cannot be loaded or rendered; ``findings`` locate the problem."""

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


def document_kind(doc: Document) -> str:
    """``daily``, ``weekly`` or ``monthly``: the stem of the document's template names."""
    if isinstance(doc, DailyBulletin):
        return "daily"
    if isinstance(doc, WeeklyList):
        return "weekly"
    if isinstance(doc, MonthlyRanking):
        return "monthly"
    raise TypeError(f"not a document context: {type(doc).__name__}")


def _html_finalize(value: Any) -> Any:
    return DASH if value is None else value


def _markdown_finalize(value: Any) -> Any:
    if value is None:
        return DASH
    if isinstance(value, str) and not isinstance(value, Markup):
        return markdown_text(value)
    return value


class Renderer:
    """Renders the documents of one language, with an optional user template folder."""

    def __init__(self, lang: str = "zh", template_dir: Path | None = None) -> None:
        self.lang = lang
        self.t = messages(lang)
        self.search_path = [p for p in (template_dir, TEMPLATES) if p is not None and p.is_dir()]
        loader = ChoiceLoader([FileSystemLoader(str(p)) for p in self.search_path])
        filters = build_filters(lang)
        self._environments: dict[str, SandboxedEnvironment] = {}
        for fmt, finalize, escape in (("html", _html_finalize, True),
                                      ("md", _markdown_finalize, False)):
            env = SandboxedEnvironment(loader=loader, undefined=StrictUndefined,
                                       autoescape=escape, finalize=finalize, trim_blocks=True,
                                       lstrip_blocks=True, keep_trailing_newline=True)
            env.filters.update(filters)
            env.globals.update(t=self.t, lang=lang)
            self._environments[fmt] = env

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name`` (its format from the name: ``*.html.j2`` or ``*.md.j2``)."""
        fmt = "html" if name.endswith(".html.j2") else "md"
        env = self._environments[fmt]
        try:
            return env.get_template(name).render(context)
        except TemplateNotFound as exc:
            folders = ", ".join(str(p) for p in self.search_path)
            raise _error("KFW-D003", f"no template named {exc.name!r}", name,
                         hint=f"looked in {folders}") from None
        except TemplateSyntaxError as exc:
            raise _error("KFW-D002", f"template syntax error: {exc.message}",
                         exc.filename or exc.name or name, exc.lineno) from None
        except UndefinedError as exc:
            file, line = _template_frame(exc, name)
            raise _error("KFW-D001", f"undefined variable: {exc.message}", file, line,
                         hint=f"the fields of each context are listed in {CONTEXT_DOCS}"
                         ) from None
        except SecurityError as exc:
            file, line = _template_frame(exc, name)
            raise _error("KFW-D004", f"the template sandbox refused: {exc}", file, line
                         ) from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
            file, line = _template_frame(exc, name)
            raise _error("KFW-D004", f"the template failed: {type(exc).__name__}: {exc}",
                         file, line) from None

    def document(self, doc: Document, fmt: str) -> str:
        """A daily, weekly or monthly document as Markdown or HTML."""
        if fmt not in TEXT_FORMATS:
            raise ConfigError(f"cannot render {fmt!r} text; expected one of "
                              f"{', '.join(TEXT_FORMATS)}")
        context: dict[str, Any] = {"doc": doc}
        if fmt == "html":
            context["charts"] = document_charts(doc, self.t)
        return self.render(f"{document_kind(doc)}.{fmt}.j2", context)


def document_charts(doc: Document, t: Mapping[str, str]) -> dict[str, Markup]:
    """The inline SVG charts a document's HTML shows, by name."""
    if isinstance(doc, DailyBulletin):
        return {"rates": charts.rates_chart(doc.trend, t),
                "lights": charts.lights_chart(doc.counties, t)}
    if isinstance(doc, WeeklyList):
        return {"assignments": charts.assignments_chart(doc.open_by_level_status, t)}
    return {"ranking": charts.ranking_chart(doc.rows, t),
            "rates": charts.rates_chart(doc.rate_trend, t)}


def _template_frame(exc: BaseException, name: str) -> tuple[str, int | None]:
    """The innermost template file and line of a render error (Jinja2 rewrites the traceback
    so that template frames carry the template's file name and line)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return name, None


def _error(code: str, message: str, file: str, line: int | None = None,
           hint: str | None = None) -> ReportTemplateError:
    finding = Finding(code, message, file=file, line=line, hint=hint)
    return ReportTemplateError(str(finding), [finding])
