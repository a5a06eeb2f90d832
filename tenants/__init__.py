"""Tenant registry, schema provisioning and migrations, and the tenant file."""
