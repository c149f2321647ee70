"""The documents people circulate: daily bulletin, weekly assignment lists, monthly ranking and
the static dashboard, rendered from typed contexts (:mod:`kfworkflow.reports.context`) to
Markdown, print-ready HTML with inline SVG charts, and XLSX."""
