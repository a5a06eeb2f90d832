"""Backups: pgBackRest for the whole cluster (``pgbackrest.py``), the restore
drill's comparison (``drill.py``) and the per-tenant encrypted export/restore
for drills and moves (``archive.py``, ``transfer.py``)."""
