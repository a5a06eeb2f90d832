NAME = "repairs: the running clock's due time stored on the board row, and the board's index"

# The dispatcher's board sorted every open order by a CASE over the status on
# each page (20,000 open orders: 58 ms, a sort spilled to disk). ``due_at`` is
# the due time of the clock running in the order's status (NULL when none runs:
# paused, completed), written with the row by service.sync_summary
# (sla.running_due). The index holds the board's order and every column its
# filters read, so a page's keys come from an index-only scan.
SQL = r"""
ALTER TABLE core.work_order_summary ADD COLUMN due_at timestamptz;
UPDATE core.work_order_summary SET due_at = CASE
    WHEN status IN ('reported', 'unassigned', 'dispatched') THEN response_due_at
    WHEN status = 'accepted' THEN onsite_due_at
    WHEN status = 'on_site' THEN completion_due_at END;
CREATE INDEX work_order_summary_board_idx ON core.work_order_summary (breached DESC, due_at, order_id)
    INCLUDE (tenant_id, building_id, status, paused, category, assignee_id);
"""
