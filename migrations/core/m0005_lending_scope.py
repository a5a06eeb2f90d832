NAME = "lending: the accompanied out-of-scope kind, document titles on loan items and review items"

# 'outside' is access to a file outside the requester's buildings (approved by
# the leadership, read only in the archive's company); accompanied_by records who
# went with the borrower. Titles are copied when the request is made so queues,
# registers and slips read them from core without entering tenant schemas.
SQL = r"""
ALTER TABLE core.loan DROP CONSTRAINT loan_mode_check;
ALTER TABLE core.loan ADD CONSTRAINT loan_mode_check CHECK (mode IN ('paper', 'electronic', 'export', 'outside'));
ALTER TABLE core.loan ADD COLUMN accompanied_by text NOT NULL DEFAULT '';
ALTER TABLE core.loan_item ADD COLUMN document_titles text[] NOT NULL DEFAULT '{}';
ALTER TABLE core.review_item ADD COLUMN subject text NOT NULL DEFAULT '';
"""
