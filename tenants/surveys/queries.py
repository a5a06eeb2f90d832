"""Survey aggregates the query builder cannot say: the scores are a JSONB
object per answer, read with ``jsonb_each_text`` and grouped by the invited
tenant's building (an unnested array), level or industry."""

from __future__ import annotations

from portal.core.db import DB

# Each answering tenant's mean over its scores, joined to its invitation row (the
# building, level and industry it had): the base of every grouping below.
_BASE = """
WITH m AS (
    SELECT a.tenant_id, (SELECT avg(e.value::int) FROM jsonb_each_text(a.scores) AS e) AS mean
    FROM core.survey_answer a WHERE a.survey_id = $1
), i AS (
    SELECT i.tenant_id, i.building_ids, i.level, i.industry, m.mean
    FROM core.survey_invitation i LEFT JOIN m ON m.tenant_id = i.tenant_id
    WHERE i.survey_id = $1
)
"""

_GROUPS = {
    # unnest: a tenant in two buildings counts in both (a lateral set-returning function)
    "building": "SELECT b AS key, count(*) AS invited, count(i.mean) AS answered, avg(i.mean)::float AS mean"
                " FROM i CROSS JOIN LATERAL unnest(i.building_ids) AS b GROUP BY b",
    "level": "SELECT i.level::text AS key, count(*) AS invited, count(i.mean) AS answered,"
             " avg(i.mean)::float AS mean FROM i GROUP BY i.level",
    # the industry is noted when a tenant is e-mailed or answers: group the answering tenants only
    "industry": "SELECT i.industry AS key, NULL::bigint AS invited, count(i.mean) AS answered,"
                " avg(i.mean)::float AS mean FROM i WHERE i.mean IS NOT NULL GROUP BY i.industry",
}


async def by_question(survey_id: int) -> list[dict]:
    """Per question key: answers, mean and how many gave each score (jsonb_each_text)."""
    rows = await DB.pool.fetch(
        "SELECT q.key, count(*) AS n, avg(q.value::int)::float AS mean,"
        " array_agg(q.value::int) AS scores"
        " FROM core.survey_answer a CROSS JOIN LATERAL jsonb_each_text(a.scores) AS q"
        " WHERE a.survey_id = $1 GROUP BY q.key", survey_id)
    out = []
    for r in rows:
        spread = [0] * 5
        for score in r["scores"]:
            if 1 <= score <= 5:
                spread[score - 1] += 1
        out.append({"key": r["key"], "n": r["n"], "mean": r["mean"], "spread": spread})
    return out


async def by_group(survey_id: int, group: str) -> list[dict]:
    """Invited, answered and the mean of the answering tenants' means, per building, level or industry."""
    rows = await DB.pool.fetch(_BASE + _GROUPS[group], survey_id)
    return [dict(r) for r in rows]


async def counts(survey_id: int) -> dict:
    row = await DB.pool.fetchrow(
        "SELECT count(*) AS invited, count(answered_at) AS answered, count(emailed_at) AS emailed,"
        " coalesce(sum(reminders), 0) AS reminders FROM core.survey_invitation WHERE survey_id = $1", survey_id)
    return dict(row)
