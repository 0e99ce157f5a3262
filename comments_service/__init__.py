"""comments_service: threaded comments with toxicity moderation for news sites."""

__version__ = "0.1.0"
