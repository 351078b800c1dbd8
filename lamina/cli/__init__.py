"""The `lamina` command line: train, predict, info, export and serve from the shell."""
