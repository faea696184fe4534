"""Deployable stacks."""
