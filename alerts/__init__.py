"""Alerts on negative-news spikes: rules, a pure detector, an evaluator, webhook notifications, backtests."""
