"""Parts of page extraction (crawler/extract.py): publish-time choice, article pagination."""
