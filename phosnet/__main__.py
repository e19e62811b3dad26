"""``python -m phosnet``: the same as the ``phosnet`` command."""

from phosnet.cli import main

if __name__ == "__main__":
    main()
