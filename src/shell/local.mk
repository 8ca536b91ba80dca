# src/shell fragment
