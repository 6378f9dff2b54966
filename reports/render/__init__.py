"""Renderers of results files (Markdown first; charts and HTML later). Pure: files in, text out."""
