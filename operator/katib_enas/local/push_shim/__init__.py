"""A `sitecustomize` put on a Push-collector trial's PYTHONPATH outside Kubernetes.

`kubeflow.katib.report_metrics` (SDK 0.19) reads the pod's service-account namespace file before
it sends anything, so off-cluster it raises FileNotFoundError although the namespace only
decorates an error message. The local runner adds this directory to a trial's PYTHONPATH when
that file is missing; `sitecustomize.py` here then answers the namespace from
`KATIB_TRIAL_NAMESPACE` instead, lazily, so trials that never import the SDK pay nothing.
"""
