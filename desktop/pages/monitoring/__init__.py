"""The Monitoring page: a deployment's traffic and drift, live; explicit checks and retraining."""
