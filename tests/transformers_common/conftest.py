# The vendored files hold mixins, not tests of their own.
collect_ignore_glob = ["test_*.py"]
