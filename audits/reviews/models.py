"""Models: filled in by the reviews work (issue 6)."""
