"""Adversarial tests of issue 13: each test names the row of the issue's table it keeps closed."""
