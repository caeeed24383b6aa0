"""rdh: rendered data for image harmonization (the command line lives in rdh.cli)."""
__version__ = "0.1.0"
