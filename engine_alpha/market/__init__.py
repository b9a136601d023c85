"""Market data: bars, their validation, market rules and the feeds that deliver them."""
