"""lokstra-console: the Textual app and the command line."""
