"""The revisions, one module each, named ``v<revision>_<slug>.py``."""
