"""The offline alerts lab: backtests over scored events, synthetic streams with known surges, an oracle to
compare against. Product code for `finmon alerts backtest|simulate`; the runtime never imports it."""
