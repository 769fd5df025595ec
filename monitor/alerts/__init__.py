"""Alerting: policies decide which matched items become alerts, alerts are tickets,
emails go through a persisted outbox. See :class:`monitor.alerts.engine.Alerting`."""
