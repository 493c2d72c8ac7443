"""Local mode: run a Katib Experiment on one machine with the same service, trials, collectors."""
