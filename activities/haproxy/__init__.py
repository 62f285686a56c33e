"""HAProxy mitigations over its runtime API: ``haproxy.drain_server``, ``haproxy.set_weight``,
``haproxy.set_maxconn``."""
