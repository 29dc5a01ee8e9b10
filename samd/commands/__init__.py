"""Subcommands of the `samd` CLI, one module each (``samd/commands/<name>.py``).

Each module defines a ``click`` command object named ``command``. The CLI imports a module
only when its subcommand runs, so ``samd --version`` stays fast and a product that imports
`samd_core` never pays for pandas, MLflow or jinja2.
"""
