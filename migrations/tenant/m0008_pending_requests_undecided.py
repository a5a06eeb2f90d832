NAME = "pending change requests have no decision time"

# The table class used to fill decided_at with the insert's clock, so pending
# requests showed "decided at" in the portal; a decision (approve, reject,
# withdraw) sets it again, so only pending rows are wrong.
SQL = r"""
UPDATE change_request SET decided_at = NULL WHERE status = 'pending';
"""
