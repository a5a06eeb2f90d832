"""The tenant self-service portal (/portal)."""

ROUTES: list = []
