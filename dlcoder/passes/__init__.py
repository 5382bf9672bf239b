"""Graph -> Graph passes, one per file; `pipeline.run` applies them in order."""
