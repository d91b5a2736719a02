"""The `eventdeck` command line and the Textual operations console."""
