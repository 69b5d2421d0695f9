"""Your own code: the stock-tick pipeline's handler (ticks.handler) and its model (ticks.model)."""
