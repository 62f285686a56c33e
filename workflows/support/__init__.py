"""Workflow mechanics: activity options, search attributes, the timeline, and the
signals (sealed) between the incident and its children."""
