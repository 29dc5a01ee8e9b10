"""Allow ``python -m samd``."""

from samd.cli import main

if __name__ == "__main__":
    main()
