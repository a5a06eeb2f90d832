"""Web plumbing shared by the console, the portal and the API."""
