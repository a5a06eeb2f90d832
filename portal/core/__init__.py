"""The kernel: settings, database engine, errors, audit, i18n, roles and
permissions, the S3 client, domain hooks, working days and the approval engine.
Every domain may import it; it imports no domain and no route
(tests/unit/test_layers.py).
"""
