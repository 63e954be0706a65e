// Placeholder: the Forecasting module is being written.
