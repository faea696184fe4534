"""Reusable constructs; each one owns one concern of the deployment."""
