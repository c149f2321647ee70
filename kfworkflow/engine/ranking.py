"""Monthly ranking (月排名) of counties by a composite score.

score = 100 × Σ wᵢ·min(rateᵢ, 1) / Σ wᵢ over the weighted rates (``policies.ranking.weights``)
that the county has (a rate with nothing due, e.g. no project due to complete, is left out and
the remaining weights are scaled up); rounded to 2 decimals. A county with none of the rates is
not ranked. Equal scores share a rank (1, 2, 2, 4); ``rank_from_bottom`` is 1 for last place;
``rank_change`` is last month's rank minus this one (positive = moved up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def rate_of(weight_key: str) -> str:
    """``start_rate`` (policies) → ``start`` (metrics)."""
    return weight_key.removesuffix("_rate")


@dataclass(frozen=True)
class RankedCounty:
    county: str
    score: float | None
    rank: int | None
    rank_from_bottom: int | None
    rank_change: int | None
    peers: int
    breakdown: dict[str, Any]

    def facts(self) -> dict[str, Any]:
        return {"score": self.score, "rank": self.rank, "rank_from_bottom": self.rank_from_bottom,
                "rank_change": self.rank_change, "peers": self.peers}


def composite(rates: Mapping[str, float | None], weights: Mapping[str, float]
              ) -> tuple[float | None, dict[str, Any]]:
    breakdown: dict[str, Any] = {}
    total_weight = 0.0
    points = 0.0
    for key, weight in sorted(weights.items()):
        rate = rates.get(rate_of(key))
        used = rate is not None and weight > 0
        breakdown[key] = {"rate": rate, "weight": weight, "counted": used}
        if used:
            assert rate is not None
            total_weight += weight
            points += weight * min(rate, 1.0)
    if total_weight == 0:
        return None, breakdown
    score = round(100 * points / total_weight, 2)
    for item in breakdown.values():
        item["points"] = (round(100 * item["weight"] * min(item["rate"], 1.0) / total_weight, 4)
                          if item["counted"] else None)
    return score, breakdown


def rank_counties(rates_by_county: Mapping[str, Mapping[str, float | None]],
                  weights: Mapping[str, float],
                  previous_ranks: Mapping[str, int | None]) -> dict[str, RankedCounty]:
    scored = {county: composite(rates, weights) for county, rates in rates_by_county.items()}
    ranked = sorted((s, c) for c, (s, _) in scored.items() if s is not None)
    scores = [s for s, _ in ranked]
    peers = len(scores)
    out: dict[str, RankedCounty] = {}
    for county in sorted(scored):
        score, breakdown = scored[county]
        if score is None:
            out[county] = RankedCounty(county, None, None, None, None, peers, breakdown)
            continue
        rank = 1 + sum(1 for other in scores if other > score)
        from_bottom = 1 + sum(1 for other in scores if other < score)
        before = previous_ranks.get(county)
        change = before - rank if before is not None else None
        out[county] = RankedCounty(county, score, rank, from_bottom, change, peers, breakdown)
    return out
