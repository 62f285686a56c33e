"""Shared nouns: one module per concept, imported by every layer above the core."""
