"""Network dynamics: groups change while the run goes on (see ``process.py``)."""
