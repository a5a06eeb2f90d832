"""The kernel: what every domain may use and that uses no domain and no route
(working days, the approval engine; settings, db, errors, audit and i18n move
in beside them)."""
