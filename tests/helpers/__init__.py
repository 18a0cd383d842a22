"""Test helpers: servers the tests run on loopback."""
