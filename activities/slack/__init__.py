"""Slack: the Web API, approval cards, incident channels."""
