"""The outbox: durable deliveries, a worker that sends them, status in Slack."""
