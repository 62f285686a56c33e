"""remediator's own numbers: the Prometheus metrics its processes export, and the
figures of a closed incident (times to mitigate, acknowledge, resolve; how it ended)
that both the metrics and ``remediator report`` derive from an incident's record."""
