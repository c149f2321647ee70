"""Deterministic synthetic data for the Kaifeng 2022 campaign (``kfw demo``, tests, benchmarks).

- :mod:`kfworkflow.demo.names`: counties, categories, milestones and the vocabularies that make
  plausible Chinese project, company and person names.
- :mod:`kfworkflow.demo.ledger_gen`: the project ledger (台账) built from the seed plan's numbers.
- :mod:`kfworkflow.demo.ledger_dates`: when each kind of project planned and reached its
  milestones (the ledger's dates).
- :mod:`kfworkflow.demo.campaign`: the daily reports (日调度) of 2022-11-14 .. 2022-12-31.
- :mod:`kfworkflow.demo.files`: writing both as .xlsx / .csv with the Chinese headers.

Everything is a pure function of a seed: no clock, no network, no files read.
"""
