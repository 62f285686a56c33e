"""The alert webhook server: ``app`` builds it (lifespan, error handlers), ``auth`` says
who may do what, and each resource has its router (``alerts``, ``incidents``,
``health``). Alerts in, incident state out; no business rules here."""
