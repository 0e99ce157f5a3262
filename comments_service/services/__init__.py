"""The service layer: every API route, the scoring worker, the CLI and the demo seed go through
here, never to db/ themselves. Each service receives its collaborators in its constructor; the
composition root (wiring.py) is the one place that builds them."""
