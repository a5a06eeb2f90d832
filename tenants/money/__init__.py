"""The office's money records on each tenant: deposits, charges, payments,
arrears, and the notices it prints and sends.

Amounts are integer fen in the database and the services; ``amounts`` turns
form input into fen and fen into display text. Every ledger change runs in
one ``tenant_tx`` together with the tenant's core summary (``summary``):
``deposits``, ``charges`` and ``payments`` make the changes, ``ledger`` holds
what they share and reads the ledger; ``queries`` is the SQL the query builder
cannot say.
"""
