"""Models: filled in by this app's issue work."""
