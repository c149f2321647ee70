"""kfworkflow: a rule and workflow engine for key investment projects."""

__version__ = "0.1.0"
