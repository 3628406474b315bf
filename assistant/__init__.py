"""Dialogue: intent extraction, the model <-> tools loop, grounded reply composition."""
