// Placeholder: the SignalFusion module is being written.
