"""Object storage (S3), scanned documents, and PDF rendering."""
