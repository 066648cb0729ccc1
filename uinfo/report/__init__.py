"""Presentation only (outside the store's code hash): statistics and verdicts, figures."""
