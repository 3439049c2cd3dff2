"""The read models on the server: the projector, its process, rebuilds and the stored models."""
