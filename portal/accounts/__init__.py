"""Staff accounts, roles and permissions; portal users and invitations."""
