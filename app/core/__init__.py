"""The explorer's core, without Qt: the session (the current model, the pending request, the weights), the
request runner that owns the model's thread, the collector's policy, and the plain view data built from a
recorded graph. The window, the command line and the tests use it; it imports no Qt (tests/test_boundaries.py)
and is tested with Qt blocked (tests/qt_free)."""
