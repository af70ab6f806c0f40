"""The behavioral categories of the unified training data. No Django.

One taxonomy for the dataset library (each row's `_category`), the mix composition and the
curriculum phases. A category is metadata for analysis and sampling; it is never put into the
training text (the model must learn the style from the context, not from a tag).
"""

CATEGORIES = ("technical", "instructional", "analytical", "conversational", "empathetic", "creative", "tool", "factual",
              "ethical", "specialized")
