"""The offline demo engine (engine.py), its litellm provider (provider.py), and what it reads in a brief
(reading.py, vocab.py). No Django."""
