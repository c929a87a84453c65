"""One module per `make bench` scenario; bench/run.py runs them, bench/report.py tabulates."""
