"""The incident's people and messages: responders, clocks, announcements, templates."""
