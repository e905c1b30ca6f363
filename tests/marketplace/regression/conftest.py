"""Regression corpora: plugin samples, some written the way real attacks are (a conftest.py that
exfiltrates, tests/ that open sockets): pytest must never collect or import anything below here.
tests/marketplace/test_regression_corpora.py reads the samples as bytes; nothing else touches them."""

collect_ignore_glob = ["*"]
