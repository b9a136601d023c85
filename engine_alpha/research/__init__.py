"""Research: edge per regime and confidence bucket, measured from bars."""
