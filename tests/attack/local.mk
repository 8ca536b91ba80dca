# tests/attack fragment
