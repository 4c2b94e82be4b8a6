"""The ASGI app for uvicorn (`geo_service.asgi:app`), configured from the environment."""

from geo_service.app import create_app

app = create_app()
