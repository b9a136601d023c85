"""`chloe web`: a read-only view of a reports directory, in a process of its own."""
