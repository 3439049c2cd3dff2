"""HTTP: the composition root (``app``), the routes of the protocol and the read models, and the pages."""
