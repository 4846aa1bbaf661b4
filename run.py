"""Entry point: `python run.py [hydra overrides]` (see README.md)."""

from transferlab.cli import main

if __name__ == "__main__":
    main()
