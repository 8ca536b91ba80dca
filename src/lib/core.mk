# src/lib core: protocol codec, logging, safe files, key files, capabilities.
