"""What several pages share: overlaid curve plots, one-click Deploy, gate result tables."""
