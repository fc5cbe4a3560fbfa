"""Alerts on negative-news spikes: rules, a pure detector, an evaluator, webhook notifications; the offline lab
(backtests, simulations) in alerts.lab."""
