"""The gRPC boundary: Katib Suggestion API servicer, server, metrics."""
