"""Recognising characters in people's own images: preprocessing, recognizer, pretrained models."""
