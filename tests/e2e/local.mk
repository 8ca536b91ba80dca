# tests/e2e fragment
