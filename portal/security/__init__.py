"""Sign-in, sessions, CSRF, throttling, passwords."""
