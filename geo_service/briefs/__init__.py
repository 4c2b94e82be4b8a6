"""One-page area briefs (`/areas/{id}/brief`, `cmrisk brief`): HTML and PDF (WeasyPrint).

- `content`: what a brief says, gathered from the run (data-driven);
- `charts`: its bar charts as inline SVG;
- `render`: the page (Jinja template `templates/brief.html`, `brief.css`) and its PDF.
"""
