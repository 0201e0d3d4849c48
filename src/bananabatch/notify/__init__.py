"""Job webhooks: events written to an outbox with the status change, POSTed signed."""
