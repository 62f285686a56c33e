"""PostgreSQL mitigations: ``postgres.cancel_queries`` and ``postgres.terminate_queries``."""
