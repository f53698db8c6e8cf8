"""The Compare page: 2-10 runs side by side, their tables and overlaid curves."""
