"""Notifications to the operator through apprise: which events, their messages, their delivery."""
