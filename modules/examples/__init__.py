"""Small example modules to copy from when writing your own."""
