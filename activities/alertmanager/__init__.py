"""Alertmanager: whether an incident's alerts still fire (or are silenced), and the
``alertmanager.silence`` mitigation."""
