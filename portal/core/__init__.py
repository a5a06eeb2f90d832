"""The kernel: settings, database engine, errors, audit, i18n, roles, and the
approval and working-day engine. Every domain may import it; it imports no
domain and no route (tests/unit/test_layers.py).
"""
