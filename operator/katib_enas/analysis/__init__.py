"""What a search found, for people: the trial table, the report, architecture pictures, the
exported and the retrained model, from a local run directory or from a cluster.

`records` is the one model every output is written from; `local_source` and `cluster_source`
build it from a run's database or from Katib's Experiment and Trial objects, so a local run and
a cluster experiment give the same files (`artefacts`).
"""
