"""Notifications service: who to write to, and the emails the District sends them."""
