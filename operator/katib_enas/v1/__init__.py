"""katib-enas's own gRPC API, generated from operator/protos/ (see scripts/)."""
