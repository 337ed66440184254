"""``python -m cincopa_async.cli``: the ``cincopa`` command."""

from cincopa_async.cli import main

if __name__ == "__main__":
    main()
