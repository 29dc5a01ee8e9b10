"""Segmentation and detection metrics (pure functions)."""

__all__: list[str] = []
