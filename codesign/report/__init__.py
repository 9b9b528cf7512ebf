"""Shareable reports: the data computed once (data.py), rendered as JSON, Markdown and one HTML file."""
