NAME = "office credits: one per complaint"

# A credit the office grants for a complaint (tenants/money/credits.py) is a
# payment row whose reference is the complaint number; grant_in_tx checks for an
# existing one under the ledger lock, and this index makes "exactly once" a
# database guarantee too.
SQL = r"""
CREATE UNIQUE INDEX payment_office_credit_uq ON payment (reference)
    WHERE kind = 'payment' AND method LIKE 'complaint\_%';
"""
