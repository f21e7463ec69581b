"""The core: interfaces and engine. Depends on torch, pluggy, pydantic and botorch only."""
