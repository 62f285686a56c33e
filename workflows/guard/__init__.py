"""The guard: safety rails shared by every incident (one workflow per namespace)."""
