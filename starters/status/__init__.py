"""The public status page: components, open incidents and the last 90 days."""
