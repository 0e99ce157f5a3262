"""The one service layer: every API route, worker and CLI command goes through here."""
