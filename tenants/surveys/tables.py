"""Core tables of satisfaction surveys (migrations/core/m0010_surveys.py).

Everything is in ``core``: the analysis reads all answers of a survey at once
and no query may span tenant schemas (see the migration for the reasoning).
"""

from decimal import Decimal

from piccolo.columns import JSONB, Array, Date, Integer, Numeric, Serial, SmallInt, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from portal.core.db import DB


class Survey(Table, tablename="survey", schema="core", db=DB):
    id = Serial(primary_key=True)
    title = Text()
    kind = Text(default="yearly")
    questions = JSONB(default=[])
    audience = Text(default="all")
    audience_ids = Array(base_column=Integer(), default=[])
    status = Text(default="draft")
    closes_on = Date()
    threshold = Numeric(digits=(3, 2), default=Decimal("3.5"))
    created_by_id = Integer()
    created_by = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    opened_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    report_status = Text(default="")
    report_requested_by_id = Integer(null=True, default=None)
    report_requested_by = Text(default="")
    report_requested_at = Timestamptz(null=True, default=None)
    report_decided_by_id = Integer(null=True, default=None)
    report_decided_by = Text(default="")
    report_decided_at = Timestamptz(null=True, default=None)
    report_reason = Text(default="")


class SurveyInvitation(Table, tablename="survey_invitation", schema="core", db=DB):
    id = Serial(primary_key=True)
    survey_id = Integer()
    tenant_id = Integer()
    building_ids = Array(base_column=Integer(), default=[])
    level = SmallInt(default=0)
    industry = Text(default="")
    invited_at = Timestamptz(default=TimestamptzNow())
    emailed_at = Timestamptz(null=True, default=None)
    reminded_at = Timestamptz(null=True, default=None)
    reminders = Integer(default=0)
    answered_at = Timestamptz(null=True, default=None)


class SurveyAnswer(Table, tablename="survey_answer", schema="core", db=DB):
    id = Serial(primary_key=True)
    survey_id = Integer()
    tenant_id = Integer()
    answered_by_id = Integer()
    answered_by = Text(default="")
    answered_at = Timestamptz(default=TimestamptzNow())
    scores = JSONB(default={})
    comments = JSONB(default={})


class SurveyAction(Table, tablename="survey_action", schema="core", db=DB):
    id = Serial(primary_key=True)
    survey_id = Integer()
    area = Text()
    description = Text()
    owner = Text()
    due_on = Date()
    status = Text(default="open")
    created_by = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    done_by = Text(default="")
    done_at = Timestamptz(null=True, default=None)
