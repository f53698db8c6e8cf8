"""The Deployments page: deploy in one click, watch every server live, try it, read its log."""
