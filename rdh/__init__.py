"""rdh: rendered data for image harmonization (the command line lives in rdh.cli)."""
from rdhcore import __version__  # noqa: F401  (declared once, in rdhcore)
