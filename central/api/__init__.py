"""The HTTP API under ``/v1``: FastAPI on uvicorn, pydantic v2 models."""
