"""Datasets for training the tiny example models (numpy only)."""
