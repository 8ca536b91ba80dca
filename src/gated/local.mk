# src/gated fragment
