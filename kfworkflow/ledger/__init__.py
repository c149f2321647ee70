"""Spreadsheets in and out: cell parsing, reading/writing tables, the ledger and daily-report
importers."""
