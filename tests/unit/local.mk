# tests/unit: fragment (owned by the area's author)
