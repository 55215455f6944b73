"""Leaderboards rendered from stored result records."""
