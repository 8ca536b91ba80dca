# tests/integration: fragment (owned by the area's author)
