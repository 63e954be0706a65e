// Placeholder: the Analysis module is being written.
