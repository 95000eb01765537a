"""Other ways to run the probe engine: `ray` spreads it over Ray actors (optional extra)."""

__all__: list[str] = []
