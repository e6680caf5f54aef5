"""Policies: which fixes pullfix applies by itself, which wait for a person, and where/when."""

from policies.decide import Decision, decide
from policies.load import SHIPPED_DIR
from policies.model import Policy, PolicyError, load_policy, parse_policy

__all__ = ["SHIPPED_DIR", "Decision", "Policy", "PolicyError", "decide", "load_policy", "parse_policy"]
