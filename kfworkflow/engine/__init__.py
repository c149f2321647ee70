"""The engine: workspace, imports, passes, escalation ladder, assignments, metrics."""
