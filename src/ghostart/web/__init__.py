"""The web layer: what any FastAPI app composing ghostart reuses (``pip install ghostart[fastapi]``)."""
