"""Shared fixtures. The ``jiedai_*`` fixtures come from :mod:`jiedai_flow.testing` (pytest11)."""
