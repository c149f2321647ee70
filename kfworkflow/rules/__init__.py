"""Rules: rule files, facts, and the condition expression language."""
