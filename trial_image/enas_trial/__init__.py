"""The trial: builds the child network from Katib assignments, trains it, reports metrics."""
