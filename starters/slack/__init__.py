"""Slack in: signed interactions (approval buttons) and slash commands."""
