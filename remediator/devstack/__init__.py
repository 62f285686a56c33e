"""Dev tooling, not the product: the embedded stack of ``remediator dev`` (``stack``),
the local servers it and the tests start (``servers``), the local Kubernetes control
plane (``kube_cluster``) with its simulated node (``node_sim``), and the demo
(``demo``, ``demo_rollout``).

Only the CLI's ``dev`` command and the tests import this package; the product never
does, so a production worker or webhook server loads none of it.
"""
