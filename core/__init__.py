"""eventdeck's event-sourcing layer: pure Python and pydantic, no SQL, no Textual."""
