"""The config layer: ``policies.yaml`` → frozen ``Policies``."""
