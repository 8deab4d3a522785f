"""`python -m supervisor supervisor ...` / `python -m supervisor supcli ...`."""

from .cli import main

main()
