// Placeholder: the SignalForgeClient module is being written.
