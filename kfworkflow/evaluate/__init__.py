"""Pure evaluation: compiled rules + facts + as-of date + calendar → decisions.

No I/O and no clock reads here, so any decision can be replayed exactly from its record.
"""
