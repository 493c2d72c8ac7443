"""The pure algorithm core: search spaces, the architecture format, controllers and state.

Nothing in this package imports grpc, kubernetes or generated protobuf code; the service and the
trial convert their inputs into these types at their boundary.
"""
