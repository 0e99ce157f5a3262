"""The demo site and article that the run command seeds and /demo shows."""
