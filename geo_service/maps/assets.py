"""Where the planning map's own JavaScript and CSS live (served as `/static/cmrisk/…`)."""

from pathlib import Path

STATIC_DIR = Path(__file__).with_name("static")
"""`cmrisk-map.js` and `cmrisk-map.css`: package files, read by the JS linter (`make lint`)."""
