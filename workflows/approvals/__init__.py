"""Approval of risky steps: the gate the mitigate phase waits at, the incident's desk,
the audit of refusals, and the messages between them."""
