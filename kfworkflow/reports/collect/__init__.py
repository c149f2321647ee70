"""Document contexts read from the database: what the passes recorded, as of a date."""

from kfworkflow.reports.collect.daily import collect_daily
from kfworkflow.reports.collect.ranking import collect_ranking
from kfworkflow.reports.collect.site import collect_site
from kfworkflow.reports.collect.weekly import collect_weekly

__all__ = ["collect_daily", "collect_ranking", "collect_site", "collect_weekly"]
