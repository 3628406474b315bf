"""Re-ranking and score fusion; knows nothing about products (it ranks texts by index)."""
