"""The tenant file (租户档案) kept in each tenant's own schema."""
