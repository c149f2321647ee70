"""monthly runs and rankings keyed by the month they rank

A monthly pass ranks the month before the month of its date (the run of 2023-01-01 is
December 2022's ranking). Until now its period key, its rankings' period and its streaks'
last period were the month of the pass (``2023-01``); they become the ranked month
(``2022-12``), which is what ``kfworkflow.engine.periods.period_key`` gives from now on, so
that catch-up finds the periods already done.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PASS_RUN = sa.table('pass_run', sa.column('id', sa.Integer()), sa.column('kind', sa.String()),
                    sa.column('period_key', sa.String()), sa.column('as_of', sa.Date()))
RANKING = sa.table('ranking', sa.column('pass_run_id', sa.Integer()),
                   sa.column('period', sa.String()))
RULE_STREAK = sa.table('rule_streak', sa.column('pass_run_id', sa.Integer()),
                       sa.column('last_period', sa.String()))


def _ranked_month(as_of: date) -> str:
    year, month = (as_of.year - 1, 12) if as_of.month == 1 else (as_of.year, as_of.month - 1)
    return f"{year}-{month:02d}"


def _month_of_pass(as_of: date) -> str:
    return f"{as_of.year}-{as_of.month:02d}"


def _relabel(key_of: Callable[[date], str]) -> None:
    bind = op.get_bind()
    runs = bind.execute(sa.select(PASS_RUN.c.id, PASS_RUN.c.as_of)
                        .where(PASS_RUN.c.kind == 'monthly')).all()
    for run_id, as_of in runs:
        key = key_of(as_of)
        bind.execute(PASS_RUN.update().where(PASS_RUN.c.id == run_id).values(period_key=key))
        bind.execute(RANKING.update().where(RANKING.c.pass_run_id == run_id).values(period=key))
        bind.execute(RULE_STREAK.update().where(RULE_STREAK.c.pass_run_id == run_id)
                     .values(last_period=key))


def upgrade() -> None:
    _relabel(_ranked_month)


def downgrade() -> None:
    _relabel(_month_of_pass)
