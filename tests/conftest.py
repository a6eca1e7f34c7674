"""Hypothesis profiles for the whole suite.

``ci`` (the default) draws the same examples on every run of the same code, so a red run can be repeated;
``pytest --hypothesis-profile=explore`` draws new ones every run, ten times as many, to hunt for failures.
"""

from hypothesis import settings

settings.register_profile("ci", max_examples=400, derandomize=True)
settings.register_profile("explore", max_examples=4000)
settings.load_profile("ci")
