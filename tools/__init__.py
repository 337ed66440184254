"""Development tools (not shipped in the wheel): ``python tools/codegen.py``."""
